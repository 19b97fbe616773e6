"""Observability: metrics, logs with request ids, readiness (docs/operations.md)."""
