"""The cause of the 44 ms keep-alive stall under ``inmail serve --workers N`` (issue 13), tested
itself rather than timed: Nagle's algorithm left on for the connections a worker accepts.

uvicorn's workers serve a socket its supervisor bound without naming the TCP protocol
(``Config.bind_socket``), and asyncio only turns ``TCP_NODELAY`` on for sockets that name it;
the response's body then waits for the client's delayed ACK (docs: src/inmail/serving.py).
Served here exactly that way, on real sockets: uvicorn's own protocol leaves Nagle on (the
cause is real), ours turns it off on every connection it accepts.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from inmail.serving import NoDelayH11Protocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:  # never called
    raise AssertionError("no request is made")


def _nodelay_of_an_accepted_connection(protocol: type[H11Protocol]) -> int:
    """Serve with ``protocol`` on a socket bound as uvicorn's supervisor binds it, connect,
    and read TCP_NODELAY off the server's side of the connection."""
    config = uvicorn.Config(app=_app, host="127.0.0.1", port=0, log_level="warning")
    listening = config.bind_socket()
    assert listening.proto == 0  # the supervisor names no protocol: asyncio will not help

    async def run() -> int:
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future[int] = loop.create_future()
        state = ServerState()

        def serve() -> H11Protocol:
            made = protocol(config, state, {})
            connection_made = made.connection_made

            def noted(transport: asyncio.Transport) -> None:
                connection_made(transport)
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

            made.connection_made = noted  # type: ignore[method-assign]
            return made

        server = await loop.create_server(serve, sock=listening)
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(run())


def test_uvicorns_own_protocol_leaves_nagle_on_for_a_workers_connections() -> None:
    assert _nodelay_of_an_accepted_connection(H11Protocol) == 0


def test_inmails_protocol_turns_nagle_off_for_every_connection_it_accepts() -> None:
    assert _nodelay_of_an_accepted_connection(NoDelayH11Protocol) != 0
