"""How ``inmail serve`` runs uvicorn: one worker or many, with Nagle's algorithm off.

With ``--workers N`` uvicorn binds the listening socket itself without naming
the TCP protocol, so asyncio skips ``TCP_NODELAY`` on the connections it
accepts (uvicorn issue #3149). uvicorn writes a response's head and body
separately, and with Nagle on the body waits for the client's delayed ACK:
every request after the first on a keep-alive connection took ~40 ms longer.
The HTTP protocol below turns the option on for every TCP connection itself.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

APP = "inmail.api.app:create_app_from_env"


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, sending each write at once (``TCP_NODELAY``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def run(*, host: str, port: int, workers: int, healthcheck_seconds: int = 30) -> None:
    """Serve the API and the web app until stopped (SIGINT or SIGTERM).

    With ``workers`` > 1 uvicorn's supervisor pings each worker and replaces one that
    does not answer within ``healthcheck_seconds`` (INMAIL_SERVE_WORKER_HEALTHCHECK_SECONDS).
    """
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayH11Protocol,
        log_level="info",
        timeout_worker_healthcheck=healthcheck_seconds,
    )
