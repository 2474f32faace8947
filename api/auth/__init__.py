"""Authentication: who is calling. Token verification and the built-in user accounts."""
