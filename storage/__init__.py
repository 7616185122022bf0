"""Persistence: SQLAlchemy models, repositories, Alembic migrations and the SQL FSM storage."""
