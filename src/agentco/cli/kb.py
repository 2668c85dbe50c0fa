"""``agentco kb create|add|rm|list|search``: knowledge bases a team can cite from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agentco.kb import KnowledgeBase

NameArg = Annotated[str, typer.Argument(help="the knowledge base: letters, digits, '-' and '_'")]
WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="workspace holding .agentco/kb/ (default: from config)")
]


def register(app: typer.Typer) -> None:
    kb = typer.Typer(help="Knowledge bases: index files, then search them with sources.", no_args_is_help=True)
    kb.command("create")(create)
    kb.command("add")(add)
    kb.command("rm")(remove)
    kb.command("list")(list_kbs)
    kb.command("search")(search)
    app.add_typer(kb, name="kb")


def create(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """Create an empty knowledge base (nothing happens to one that exists)."""
    from agentco.kb import kb_path

    place = _workspace(workspace)
    existed = kb_path(place, name).is_file()
    with _open(place, name, create=True) as kb:
        typer.echo(f"knowledge base {name} {'already exists' if existed else 'created'}: {kb.path}")


def add(
    name: NameArg,
    paths: Annotated[list[Path], typer.Argument(help="files or folders (text, Markdown, HTML, PDF)")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Index files; a file indexed before is read again only when its content changed."""
    with _open(_workspace(workspace), name) as kb:
        report = kb.add(paths)
    for label, files in (("added", report.added), ("updated", report.updated)):
        for file in files:
            typer.echo(f"{label} {file}")
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{report.chunks} chunks indexed" + (f"; {len(report.ignored)} files of other kinds ignored" if report.ignored else "")
    )  # fmt: skip


def remove(
    name: NameArg,
    source: Annotated[str, typer.Argument(help="a source as `agentco kb list NAME` shows it, or a folder")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Remove a source (or every source under a folder) from a knowledge base."""
    from agentco.errors import ConfigError

    with _open(_workspace(workspace), name) as kb:
        if not kb.remove(source):
            raise ConfigError(f"{source} is not a source of {name}; `agentco kb list {name}` shows them")
    typer.echo(f"removed {source}")


def list_kbs(
    name: Annotated[str | None, typer.Argument(help="show this knowledge base's sources")] = None,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The workspace's knowledge bases, or one knowledge base's sources."""
    from agentco.kb import kb_names

    place = _workspace(workspace)
    if name is None:
        names = kb_names(place)
        if as_json:
            typer.echo(json.dumps(names))
        else:
            typer.echo(
                "\n".join(names) if names else f"no knowledge bases in {place}; create one: agentco kb create NAME"
            )
        return
    with _open(place, name) as kb:
        rows = kb.sources()
    if as_json:
        typer.echo(json.dumps([row.__dict__ for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo(f"{name} is empty; add files: agentco kb add {name} PATH...")
    for row in rows:
        typer.echo(f"{row.source}  {row.chunks} chunks  sha256 {row.hash[:12]}  updated {row.updated_at}")


def search(
    name: NameArg,
    query: Annotated[str, typer.Argument(help="what to look for, in any language")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="how many passages")] = 5,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of hits, best first")] = False,
) -> None:
    """The passages that best answer QUERY, best first, each with its source file and chunk."""
    with _open(_workspace(workspace), name) as kb:
        hits = kb.search(query, k)
    if as_json:
        rows = [{"source": h.source, "chunk": h.chunk, "score": round(h.score, 6), "text": h.text} for h in hits]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not hits:
        typer.echo("no passage matches")
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"[{rank}] {hit.source} (chunk {hit.chunk}, score {hit.score:.4f})")
        typer.echo("    " + hit.text.replace("\n", "\n    ") + "\n")


def _workspace(option: Path | None) -> Path:
    from agentco.cli.common import settings_from_cli

    return settings_from_cli(workspace=option).workspace


def _open(workspace: Path, name: str, *, create: bool = False) -> KnowledgeBase:
    from agentco.kb import KnowledgeBase

    return KnowledgeBase.open(workspace, name, create=create)
