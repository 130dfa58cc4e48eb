"""The token-less host's app: orders of their customer."""
