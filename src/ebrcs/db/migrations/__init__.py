"""Alembic migrations of every domain's tables (``env.py``, ``versions/``)."""
