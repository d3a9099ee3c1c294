"""EBRCS: an embedding-based retail checkout system."""

__version__ = "0.1.0"
