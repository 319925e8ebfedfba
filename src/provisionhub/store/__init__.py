"""Storage: tables, engine and connection setup, the write queue, and Alembic migrations."""
