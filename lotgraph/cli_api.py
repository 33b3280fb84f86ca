"""`lotgraph serve` and `lotgraph users`: the HTTP service and its accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from api.accounts.service import AccountService, account_out
from api.auth.schemas import Role
from api.errors import ApiError
from api.settings import InsecureSettings
from lotgraph.cli_support import JsonFlag, err, open_cli_store, out, print_json
from lotgraph.settings import Settings
from lotgraph.stores import StoreUnavailable, open_store

users_app = typer.Typer(no_args_is_help=True, help="Accounts for the API and the dashboard.")


def _password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _fail(exc: ApiError) -> typer.Exit:
    err.print(f"[red]error:[/] {exc.detail}")
    return typer.Exit(1 if exc.status in (404, 409) else 2)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[Role, typer.Option(help="What the account may do.")],
    sites: Annotated[
        str, typer.Option(help="Comma-separated sites it may read; * for every site.")
    ] = "",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    api_key: Annotated[
        bool, typer.Option("--api-key", help="Make an API key (printed once) instead.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add an account with a password (people) or an API key (integrations)."""
    with open_cli_store() as store:
        try:
            account, key = AccountService(store).add(
                name,
                role,
                sites.split(","),
                actor=Settings().actor_name(),
                password=_password(password_stdin),
                api_key=api_key,
            )
        except ApiError as exc:
            raise _fail(exc) from None
    if as_json:
        print_json({"account": account_out(account).model_dump(mode="json"), "api_key": key})
        return
    out.print(f"added {account.name} ({account.role}, sites {','.join(account.sites) or '-'})")
    if key:
        out.print("API key (shown this once; store it now):")
        print(key)


@users_app.command("list")
def users_list(as_json: JsonFlag = False) -> None:
    """Every account, without secrets."""
    with open_cli_store() as store:
        accounts = [account_out(a) for a in AccountService(store).list()]
    if as_json:
        print_json([a.model_dump(mode="json") for a in accounts])
        return
    table = Table("name", "role", "sites", "kind", "disabled", "locked until", "updated")
    for a in accounts:
        table.add_row(
            a.name,
            a.role,
            ",".join(a.sites),
            a.kind,
            str(a.disabled),
            a.locked_until or "-",
            a.updated_at,
        )
    out.print(table)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument()]) -> None:
    """Disable an account; its tokens and key stop working at once."""
    with open_cli_store() as store:
        try:
            AccountService(store).disable(name, actor=Settings().actor_name())
        except ApiError as exc:
            raise _fail(exc) from None
    out.print(f"disabled {name}")


@users_app.command("unlock")
def users_unlock(name: Annotated[str, typer.Argument()]) -> None:
    """End an account's lockout now and clear its failed sign-ins (audited)."""
    with open_cli_store() as store:
        try:
            AccountService(store).unlock(name, actor=Settings().actor_name())
        except ApiError as exc:
            raise _fail(exc) from None
    out.print(f"unlocked {name}")


@users_app.command("rotate")
def users_rotate(
    name: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="The new password, from stdin.")
    ] = False,
) -> None:
    """A new password (from stdin) or a new API key (printed once); old tokens end."""
    with open_cli_store() as store:
        try:
            _, key = AccountService(store).rotate(
                name, actor=Settings().actor_name(), password=_password(password_stdin)
            )
        except ApiError as exc:
            raise _fail(exc) from None
    out.print(f"rotated {name}")
    if key:
        out.print("API key (shown this once; store it now):")
        print(key)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP API (settings from LOTGRAPH_* and NEO4J_* variables)."""
    import uvicorn

    settings = Settings()
    try:
        settings.api.refuse_insecure()
    except InsecureSettings as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        open_store(settings).close()  # fail here, clearly, rather than in every worker
    except StoreUnavailable as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    uvicorn.run(
        "lotgraph.serving:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # the supervisor kills a worker that has not answered its ping in this time, with
        # the requests it is carrying out: on a busy small machine 5 s (the default) is
        # too short a patience for a worker that is merely waiting for a core
        timeout_worker_healthcheck=30,
    )
