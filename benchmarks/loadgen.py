"""A small HTTP/1.1 load generator: ``python -m benchmarks.loadgen --port P --path /x``.

It runs in its own process so that it does not share a GIL with the server or
the benchmark runner. ``--connections`` keep-alive connections to 127.0.0.1
(only) each send one request (a GET, or a POST with ``--body``), read the
whole answer, and send the next, until the deadline. Every request is the same
bytes, or, with ``--bodies PATH`` (a POST), the next body of a pool: a file of
JSON bodies, one a line, each sent once, in order, by whichever connection is
next; the bodies left unsent are written back to the file at the end, so the
next run goes on where this one stopped, and running out is an error. The
requests are built before the clock starts. Raw asyncio streams keep the
client's cost per request small (tens of microseconds), far below the
server's, so the server is what is measured.

Every connection is opened and makes one request before the clock starts. It
prints one JSON line: ``{"ops", "seconds", "cpu_seconds", "errors", "first_error",
"latencies_us"}`` where ``ops`` counts the answers with the expected status
(``--expect``, 200 by default) completed before the deadline; any other status
is an error. ``latencies_us`` holds each counted request's time from sending it
to reading its whole answer, in microseconds, sorted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # never anything else: this is a load generator
# A hard stop even if the server stops answering: the deadline plus this.
GRACE_S = 30.0
MAX_CONNECTIONS = 256
# What a broken connection or a malformed answer raises in ``exchange``.
BAD_ANSWER = (
    OSError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ValueError,
    RuntimeError,
)


@dataclass(slots=True)
class Counts:
    ops: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies_us: list[int] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = message


@dataclass(slots=True)
class Result:
    ops: int
    seconds: float
    cpu_seconds: float
    errors: int
    first_error: str | None = None
    connections: int = 0
    latencies_us: list[int] = field(default_factory=list)


def build_request(
    port: int,
    path: str,
    headers: Sequence[tuple[str, str]],
    method: str = "GET",
    body: bytes | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


@dataclass(slots=True)
class Pool:
    """Requests to send once each, in order, whichever connection asks next."""

    requests: list[bytes]
    sent: int = 0

    def next(self) -> bytes:
        if self.sent == len(self.requests):
            raise RuntimeError(f"the --bodies pool ran out after {self.sent} requests")
        self.sent += 1
        return self.requests[self.sent - 1]


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send ``request`` and read one whole answer (it must carry a Content-Length)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = None
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"no Content-Length in the answer: {head!r}")
    body = await reader.readexactly(length)
    return status, body


async def connection(
    port: int,
    request: Callable[[], bytes],
    expect: int,
    ready: asyncio.Barrier,
    go: asyncio.Event,
    start: list[float],
    counts: Counts,
) -> None:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError as exc:
        counts.error(f"cannot connect to {HOST}:{port}: {exc}")
        await ready.abort()  # nobody waits for a start that will not come
        return
    try:
        try:
            status, body = await exchange(reader, writer, request())  # warm, before the clock
        except BAD_ANSWER as exc:
            counts.error(f"warm-up failed: {exc.__class__.__name__}: {exc}")
            await ready.abort()
            return
        if status != expect:
            counts.error(f"warm-up answered {status}: {body[:200]!r}")
            await ready.abort()
            return
        await ready.wait()
        await go.wait()
        deadline = start[1]
        while (sent := time.perf_counter()) < deadline:
            status, body = await exchange(reader, writer, request())
            answered = time.perf_counter()
            if answered > deadline:
                break  # finished after the bell: not counted
            if status == expect:
                counts.ops += 1
                counts.latencies_us.append(round((answered - sent) * 1e6))
            else:
                counts.error(f"answered {status}: {body[:200]!r}")
    finally:
        writer.close()
        await writer.wait_closed()


async def load(
    port: int, request: Callable[[], bytes], connections: int, seconds: float, expect: int = 200
) -> Result:
    """``request()`` gives each request's bytes (the same ones, or the next of a pool)."""
    counts = Counts()
    start = [0.0, 0.0]  # started at, deadline: set once every connection is ready
    ready = asyncio.Barrier(connections + 1)
    go = asyncio.Event()
    tasks = [
        asyncio.create_task(connection(port, request, expect, ready, go, start, counts))
        for _ in range(connections)
    ]
    cpu = 0.0
    try:
        await asyncio.wait_for(ready.wait(), timeout=GRACE_S)
        cpu = time.process_time()
        start[0] = time.perf_counter()
        start[1] = start[0] + seconds
        go.set()
    except (asyncio.BrokenBarrierError, TimeoutError) as exc:
        counts.error(f"not every connection got ready: {exc.__class__.__name__}")
        for task in tasks:
            task.cancel()
    done = await asyncio.wait_for(
        asyncio.gather(*tasks, return_exceptions=True), timeout=seconds + GRACE_S
    )
    ended = time.perf_counter()
    for outcome in done:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            counts.error(f"{outcome.__class__.__name__}: {outcome}")
    measured = min(ended, start[1]) - start[0] if start[0] else 0.0
    return Result(
        ops=counts.ops,
        seconds=measured,
        cpu_seconds=time.process_time() - cpu if start[0] else 0.0,
        errors=counts.errors,
        first_error=counts.first_error,
        connections=connections,
        latencies_us=sorted(counts.latencies_us),
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help=f"port on {HOST}")
    parser.add_argument("--path", required=True, help="e.g. /healthz")
    parser.add_argument(
        "--header", action="append", default=[], metavar="NAME:VALUE", help="repeatable"
    )
    parser.add_argument("--method", choices=("GET", "POST"), default="GET")
    parser.add_argument("--body", help="a JSON body to send (with --method POST)")
    parser.add_argument(
        "--bodies",
        type=Path,
        help="a file of JSON bodies, one a line, each sent once (with --method POST); "
        "what is left unsent is written back",
    )
    parser.add_argument(
        "--rotate-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="repeatable, with --bodies: the pool's k-th request carries the (k mod n)-th "
        "of these (several senders' tokens, say)",
    )
    parser.add_argument(
        "--expect", type=int, default=200, help="the status that counts as done (default 200)"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections must be 1 to {MAX_CONNECTIONS}")
    if not 0 < args.seconds <= 600:
        parser.error("--seconds must be in (0, 600]")
    if not args.path.startswith("/"):
        parser.error("--path must start with /")
    if args.rotate_header and args.bodies is None:
        parser.error("--rotate-header goes with --bodies")
    if args.body is not None and args.bodies is not None:
        parser.error("--body or --bodies, not both")
    if (args.body is not None or args.bodies is not None) != (args.method == "POST"):
        parser.error("--body or --bodies goes with --method POST, and only with it")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    headers = [tuple(h.split(":", 1)) for h in args.header]
    pairs = [(n.strip(), v.strip()) for n, v in headers]

    rotating = [(n.strip(), v.strip()) for n, v in (h.split(":", 1) for h in args.rotate_header)]

    def build(body: bytes | None, k: int = 0) -> bytes:
        extra = [rotating[k % len(rotating)]] if rotating else []
        return build_request(args.port, args.path, [*pairs, *extra], args.method, body)

    if args.bodies is None:
        request = build(None if args.body is None else args.body.encode())
        result = asyncio.run(
            load(args.port, lambda: request, args.connections, args.seconds, args.expect)
        )
    else:
        bodies = args.bodies.read_text().splitlines()
        pool = Pool([build(body.encode(), k) for k, body in enumerate(bodies)])
        try:
            result = asyncio.run(
                load(args.port, pool.next, args.connections, args.seconds, args.expect)
            )
        finally:
            args.bodies.write_text("".join(f"{body}\n" for body in bodies[pool.sent :]))
    print(
        json.dumps(
            {
                "ops": result.ops,
                "seconds": result.seconds,
                "cpu_seconds": result.cpu_seconds,
                "errors": result.errors,
                "first_error": result.first_error,
                "connections": result.connections,
                "latencies_us": result.latencies_us,
            }
        ),
        flush=True,
    )
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
