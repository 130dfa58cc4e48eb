"""The follower host's app: ``Member``, its local copy of the master's accounts, and the handler that keeps it."""
