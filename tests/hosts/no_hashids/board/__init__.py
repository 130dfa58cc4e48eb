"""The hashid-less host's app: posts (plain ids) and pins (hashids, with the salt derived from SECRET_KEY)."""
