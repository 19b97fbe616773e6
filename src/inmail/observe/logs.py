"""Logging for ``inmail serve`` and ``inmail worker``: one configuration, text or JSON lines.

Every line carries the id of the request it was logged in (``request_id``, from a
context variable the request middleware sets; ``-`` outside a request). In JSON each
line is one object::

    {"time": "2026-01-31T09:00:00.123Z", "level": "INFO", "logger": "inmail.access",
     "message": "GET /v1/me 200", "request_id": "3f2a...", "method": "GET", ...}

with the fields passed as ``extra=`` beside the standard ones, and ``exception`` (the
traceback's text) when one is logged. Times are UTC.
"""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class LogFormat(StrEnum):
    """How log lines look: ``text`` for people, ``json`` (one object a line) for collectors."""

    TEXT = "text"
    JSON = "json"


request_id: ContextVar[str | None] = ContextVar("inmail_request_id", default=None)
"""The id of the request being served in this context (None outside a request)."""

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

# The attributes every LogRecord has: what is not among them came with ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "taskName", "color_message"}
)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` from the context (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        return True


class TextFormatter(logging.Formatter):
    """``time level [request_id] logger: message``, the time in UTC (ISO 8601, ms)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return utc_text(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_text(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id_of(record),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def _request_id_of(record: logging.LogRecord) -> str | None:
    """The record's request id (the filter's ``-`` outside a request is null in JSON)."""
    rid = getattr(record, "request_id", None)
    if rid is None or rid == "-":
        return request_id.get()
    return str(rid)


def utc_text(created: float) -> str:
    """A record's time as ISO 8601 in UTC, to the millisecond: ``2026-01-31T09:00:00.123Z``."""
    at = datetime.fromtimestamp(created, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def logging_config(log_format: LogFormat, *, verbose: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for stderr in ``log_format``.

    uvicorn applies it in each of its worker processes (``log_config=``), and the worker
    calls :func:`configure_logging` with it: the app, uvicorn and the worker log alike.
    inmail's own loggers go to DEBUG with ``verbose``; the root stays at INFO (at DEBUG
    it would log every SQL statement too). uvicorn's own access log is off: the request
    middleware writes one ``inmail.access`` line a request, with its route and duration.
    """
    kind = "JsonFormatter" if log_format == LogFormat.JSON else "TextFormatter"
    formatter = {"()": f"{__name__}.{kind}"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"inmail": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "inmail",
                "filters": ["request_id"],
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "inmail": {"level": "DEBUG" if verbose else "INFO"},
            # /readyz asks Alembic for the revision: no two INFO lines a probe about it.
            "alembic.runtime.migration": {"level": "WARNING"},
            # uvicorn's loggers hand their lines to the root's handler, formatted as ours.
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure_logging(log_format: LogFormat = LogFormat.TEXT, *, verbose: bool = False) -> None:
    """Configure this process's logging (:func:`logging_config`).

    As ``logging.basicConfig`` does, a root logger that has handlers already (a test's log
    capture, an embedding program's) keeps them: only the loggers' levels are set.
    """
    config = logging_config(log_format, verbose=verbose)
    if logging.getLogger().handlers:
        for name, logger in config["loggers"].items():
            logging.getLogger(name).setLevel(logger["level"])
        return
    logging.config.dictConfig(config)
