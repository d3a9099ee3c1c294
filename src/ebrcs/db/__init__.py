"""Database engine, base classes and migrations."""
