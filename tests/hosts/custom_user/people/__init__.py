"""The custom-user host's app: people (the user model, UUID keys) and their tasks."""
