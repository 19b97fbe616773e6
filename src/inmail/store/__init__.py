"""Persistence: SQLAlchemy Core tables and queries, one module per aggregate."""
