"""A host project whose user model is its own (``people.Person``) with a UUID primary key."""
