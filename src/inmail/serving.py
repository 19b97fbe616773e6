"""How ``inmail serve`` runs uvicorn: one worker or many, with Nagle's algorithm off.

With ``--workers N`` uvicorn binds the listening socket itself without naming
the TCP protocol, so asyncio skips ``TCP_NODELAY`` on the connections it
accepts (uvicorn issue #3149). uvicorn writes a response's head and body
separately, and with Nagle on the body waits for the client's delayed ACK:
every request after the first on a keep-alive connection took ~40 ms longer.
The HTTP protocol below turns the option on for every TCP connection itself.

Metrics across processes: with ``--workers N`` (N > 1) each worker process writes
its metrics to files in one directory (prometheus-client's multiprocess mode, set
through ``PROMETHEUS_MULTIPROC_DIR`` before uvicorn starts them, since the library
reads it at import), and a scrape adds every process's files up. The directory is
``INMAIL_METRICS_DIR`` or a temporary one, emptied at the start (and the temporary
one removed at the end). With ``INMAIL_METRICS_PORT`` this process serves the scrape
on that port from a thread; the workers then have no ``/metrics``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from inmail.bootstrap import build
from inmail.config import Settings
from inmail.observe.logs import LogFormat, configure_logging, logging_config
from inmail.observe.scrape import (
    prepare_multiprocess_dir,
    remove_dir,
    scrape_registry,
    serve_on_port,
)

APP = "inmail.api.app:create_app_from_env"


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, sending each write at once (``TCP_NODELAY``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    log_format: LogFormat | None = None,
) -> None:
    """Serve the API and the web app until stopped (SIGINT or SIGTERM).

    ``log_format`` (default: the setting ``INMAIL_LOG_FORMAT``) applies to this process
    and every worker process, uvicorn's own lines included. With ``workers`` > 1 uvicorn's
    supervisor pings each worker and replaces one that does not answer within
    INMAIL_SERVE_WORKER_HEALTHCHECK_SECONDS.
    """
    chosen = log_format or LogFormat(settings.log_format)
    log_config = logging_config(chosen)
    configure_logging(chosen)
    files, made = (None, False)
    if workers > 1:
        files, made = prepare_multiprocess_dir(settings.metrics_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(files)  # the worker processes inherit it
    try:
        if settings.metrics_port is not None:
            _serve_metrics(settings, files)
        uvicorn.run(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=NoDelayH11Protocol,
            log_config=log_config,
            access_log=False,  # api/observe.py writes the access log, with route and request id
            timeout_worker_healthcheck=settings.serve_worker_healthcheck_seconds,
        )
    finally:
        if made and files is not None:
            remove_dir(files)


def _serve_metrics(settings: Settings, files: Path | None) -> None:
    """The scrape on ``INMAIL_METRICS_PORT``: this process reads the database's gauges,
    and every worker process's files (or, with one worker, its own metrics: uvicorn then
    runs the app in this process)."""
    assert settings.metrics_port is not None
    runtime = build(settings)  # its pool serves the scrapes; it lives as long as the process
    registry = scrape_registry(runtime.deps, runtime.clock.now, files=files)
    serve_on_port(registry, host=settings.metrics_host, port=settings.metrics_port)
