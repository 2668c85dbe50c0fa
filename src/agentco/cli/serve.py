"""``agentco serve`` (the team server) and ``agentco tokens`` (its API tokens)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Workspace = Annotated[Path | None, typer.Option("--workspace", "-w", help="workspace folder (default: from config)")]


def register(app: typer.Typer) -> None:
    app.command()(serve)
    tokens = typer.Typer(help="API tokens of a workspace's team server.", no_args_is_help=True)
    tokens.command("create")(create_token)
    tokens.command("list")(list_tokens)
    tokens.command("revoke")(revoke_token)
    app.add_typer(tokens, name="tokens")


def serve(
    host: Annotated[str, typer.Option(help="address to listen on; beyond loopback only with API tokens")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    workspace: Workspace = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="default model of new runs")] = None,
    max_parallel: Annotated[int, typer.Option(min=1, help="hosted-model runs at once (local ones: one)")] = 4,
) -> None:
    """Serve the team: an HTTP API (OpenAPI at /docs) to start runs, follow them live, answer their
    review gates and download what they made."""
    from agentco.cli.common import err_console, settings_from_cli
    from agentco.errors import MissingExtraError

    settings = settings_from_cli(model=model, workspace=workspace)
    try:
        import uvicorn

        from agentco.server.app import check_bind, create_app
    except ModuleNotFoundError as exc:
        raise MissingExtraError(exc.name or "fastapi", "server") from None
    check_bind(host, settings.workspace)
    err_console().print(f"serving the workspace {settings.workspace.resolve()} on http://{host}:{port} (API: /docs)")
    uvicorn.run(create_app(settings, host=host, max_parallel=max_parallel), host=host, port=port, log_level="warning")


def _store(workspace: Path | None):  # noqa: ANN202
    from agentco.cli.common import settings_from_cli
    from agentco.server.tokens import TokenStore

    return TokenStore.open(workspace or settings_from_cli().workspace)


def create_token(
    name: Annotated[str, typer.Argument(help="what or who uses the token")],
    scope: Annotated[str, typer.Option(help="read, run or admin")] = "read",
    workspace: Workspace = None,
) -> None:
    """Create a token. It is printed once, alone on the last line; only its hash is kept."""
    store = _store(workspace)
    try:
        token = store.create(name, scope)
    finally:
        store.close()
    typer.echo(f"token {name!r} ({scope}); store it now, it is not shown again:", err=True)
    typer.echo(token)


def list_tokens(workspace: Workspace = None) -> None:
    """List the tokens (never their secrets)."""
    store = _store(workspace)
    try:
        found = store.list()
    finally:
        store.close()
    if not found:
        typer.echo("no tokens")
    for t in found:
        state = "active" if t.active else f"revoked {t.revoked_at}"
        typer.echo(f"{t.id}  {t.scope:<5}  {t.created_at}  {state}  {t.name}")


def revoke_token(
    name_or_id: Annotated[str, typer.Argument(help="the token's name or id, as `agentco tokens list` prints it")],
    workspace: Workspace = None,
) -> None:
    """Revoke a token: requests and signed-in pages using it are refused from now on."""
    from agentco.errors import ConfigError

    store = _store(workspace)
    try:
        revoked = store.revoke(name_or_id)
    finally:
        store.close()
    if not revoked:
        raise ConfigError(f"no active token named {name_or_id!r} (see agentco tokens list)")
    typer.echo(f"revoked {', '.join(t.id for t in revoked)}")
