"""Load benchmark: the API against a minimal Starlette + raw SQL reference (not tests)."""
