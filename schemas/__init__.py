"""The data contract: tables and request/response models, free of any web framework."""
