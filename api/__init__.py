"""The demo domain: ``Foo`` objects shared between users, served over REST and kept live."""
