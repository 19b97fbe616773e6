"""The `inmail` command: parse, call one service, print. Errors print their message and exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from inmail.bootstrap import Runtime, build, migrate
from inmail.config import Settings
from inmail.domain import dates
from inmail.domain.errors import DomainError
from inmail.observe.logs import LogFormat
from inmail.services.audit import run_audit
from inmail.services.auth import issue_token
from inmail.services.demo import DemoLogin, fresh_demo_logins, load_demo_data
from inmail.services.invitation_links import issue_link_for_handle
from inmail.services.members import member_by_handle
from inmail.services.renewals import count_due, renew_all

app = typer.Typer(help="inmail: credit-metered direct messaging.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
member_app = typer.Typer(help="Members: invitation links and tokens.", no_args_is_help=True)
app.add_typer(member_app, name="member")
out = Console()
err = Console(stderr=True)
LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(help="Log lines as text or JSON objects (default: INMAIL_LOG_FORMAT, text)."),
]


@contextmanager
def runtime() -> Iterator[Runtime]:
    rt = build(Settings())
    try:
        yield rt
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        rt.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema and load the default catalog."""
    with runtime() as rt:
        migrate(rt)
        out.print(f"database ready: {rt.settings.database_url}")


@member_app.command("invite")
def member_invite(handle: Annotated[str, typer.Argument(help="The member's handle.")]) -> None:
    """Print a one-time link with which the member sets a password and signs in.

    The link starts with INMAIL_BASE_URL and works for INMAIL_INVITATION_LINK_DAYS days;
    a new link makes the member's earlier unused ones stop working.
    """
    with runtime() as rt:
        days = rt.settings.invitation_link_days
        link = issue_link_for_handle(rt.deps, handle=handle, now=rt.clock.now(), days=days)
    # Whole on one line, never wrapped: it is made to be copied.
    out.print(link.url(rt.settings.base_url), soft_wrap=True, highlight=False)
    until = dates.day_and_time(link.expires_at.astimezone(UTC))  # "Sun 6 Dec 2026, 22:37 UTC"
    err.print(f"for @{link.handle}; works once, until {until}")


@app.command("demo-data")
def demo_data() -> None:
    """Load demo members on every plan with a few months of credit history (once).

    Run again, it loads nothing and prints a fresh API token for each demo member.
    """
    with runtime() as rt:
        now = rt.clock.now()
        logins = load_demo_data(rt.deps, now=now)
        if logins is None:
            typer.echo("demo data already present: nothing loaded.")
            logins = fresh_demo_logins(rt.deps, now=now)
            heading = "Fresh API tokens (earlier ones keep working):"
        else:
            typer.echo("demo data loaded: sign in at /login with a handle and its password")
            heading = (
                "API bearer tokens (stored hashed: run `inmail demo-data` again for new ones):"
            )
    _print_logins(logins, heading)


def _print_logins(logins: list[DemoLogin], heading: str) -> None:
    """Plain lines, never a table: a token is never cut or wrapped, whatever the width."""
    typer.echo(f"{'handle':<10} {'password':<12} plan (as it is now)")
    for login in logins:
        typer.echo(f"{login.handle:<10} {login.password:<12} {login.plan}")
    typer.echo(heading)
    for login in logins:
        typer.echo(f"  {login.handle}: {login.token}")


@member_app.command("token")
def member_token(handle: Annotated[str, typer.Argument(help="The member's handle.")]) -> None:
    """Issue a new API token for a member and print it (only its hash is stored)."""
    with runtime() as rt:
        now = rt.clock.now()
        member = member_by_handle(rt.deps, handle, now=now)
        token = issue_token(rt.deps, member_id=member.id, now=now)
    typer.echo(token)


@app.command()
def renew() -> None:
    """Apply every renewal and expiry that is due, with a progress bar."""
    with runtime() as rt:
        now = rt.clock.now()
        with _progress() as (progress, task):
            progress.update(task, total=count_due(rt.deps, now))

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            renewed = renew_all(rt.deps, now=now, progress=advance)
        out.print(f"renewed {renewed} cycle(s)")


@contextmanager
def _progress() -> Iterator[tuple[Progress, TaskID]]:
    columns = (TextColumn("renewing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        yield progress, progress.add_task("renew", total=None)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one pass, print it and exit.")] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Seconds between passes (default: INMAIL_WORKER_POLL_SECONDS, 30).",
        ),
    ] = None,
    log_format: LogFormatOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log idle passes too.")] = False,
    check_health: Annotated[
        bool,
        typer.Option(
            "--check-health",
            help="Do not run: exit 0 if the worker writing INMAIL_WORKER_HEALTH_FILE is "
            "healthy (its last pass succeeded, recently enough), else print why and exit 1.",
        ),
    ] = False,
    max_age: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="With --check-health: the oldest last pass, in seconds, still healthy "
            "(default: three poll intervals, at least 60).",
        ),
    ] = None,
) -> None:
    """Run what falls due, pass after pass: renewals in bulk, scheduled follow-ups, unfinished
    bulk sends, the notices nobody's action writes and the pruning of idempotency keys.

    Run one or more beside the app; SIGTERM or Ctrl-C stops it after the job in hand.
    """
    if check_health:
        _check_worker_health(max_age)
        return
    from inmail.worker import Worker, configure_logging

    configure_logging(verbose, log_format or Settings().log_format)
    with runtime() as rt:
        running = Worker(rt, poll_seconds=interval or rt.settings.worker_poll_seconds)
        running.stop_on_signals()
        ok = running.run(once=once)
    if once and running.last_report is not None:
        typer.echo(str(running.last_report))
    if not ok and once:
        raise typer.Exit(1)


def _check_worker_health(max_age: float | None) -> None:
    """Exit 0 if the health file says the worker is healthy, else print why and exit 1
    (plain lines, no wrapping: a probe's log keeps them whole)."""
    from datetime import datetime, timedelta

    from inmail.worker import health_problem

    settings = Settings()
    path = settings.worker_health_file
    if path is None:
        typer.echo("unhealthy: INMAIL_WORKER_HEALTH_FILE is not set", err=True)
        raise typer.Exit(1)
    limit = max_age if max_age is not None else max(60.0, 3 * settings.worker_poll_seconds)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as missing:
        typer.echo(f"unhealthy: cannot read {path}: {missing.strerror}", err=True)
        raise typer.Exit(1) from None
    problem = health_problem(text, now=datetime.now(UTC), max_age=timedelta(seconds=limit))
    if problem is not None:
        typer.echo(f"unhealthy: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"healthy: {path}")


@app.command()
def audit() -> None:
    """Check every ledger invariant; exits 1 and names each violation when one fails."""
    with runtime() as rt:
        problems = run_audit(rt.deps, rt.clock.now())
    if problems:
        for problem in problems:
            err.print(f"[red]✗[/red] {problem}")
        raise typer.Exit(1)
    out.print("[green]✓[/green] audit clean: every balance, lot, spend and renewal adds up")


@app.command()
def openapi(
    output: Annotated[
        Path, typer.Option(help="Where to write the document.", dir_okay=False)
    ] = Path("docs/openapi.json"),
) -> None:
    """Write the published OpenAPI document (what GET /openapi.json answers) to a file."""
    from inmail.api.published import openapi_text  # FastAPI loads only for this command

    output.write_text(openapi_text(), encoding="utf-8")
    out.print(f"wrote {output}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    log_format: LogFormatOption = None,
) -> None:
    """Serve the API and the web app."""
    from inmail.serving import run  # uvicorn loads only for this command

    settings = Settings()
    run(settings, host=host, port=port, workers=workers, log_format=log_format)


def main() -> None:  # pragma: no cover - the console script
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
