"""A host project without ``HASHIDS_*`` or ``REALTIME`` settings: one model with plain ids, one with hashids."""
