"""A host project without ``rest_framework.authtoken``: its API authenticates by session and HTTP Basic only."""
