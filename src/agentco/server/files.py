"""A run's project files, served without following anything generated code could have planted.

Every path is walked from the project folder one name at a time with ``O_NOFOLLOW``: ``..``, an
absolute path, a symlink anywhere on the way, or anything under ``.git`` is refused, and a file is
read through the descriptor that was checked, so swapping a link in afterwards changes nothing.
The tree and the zip leave out symlinks, ``.git``, the project's environment and caches.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

SKIPPED = frozenset({".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
MAX_FILE = 5 * 1024 * 1024


class Refused(ValueError):
    """The path is not one this server hands out."""


def read_file(root: Path, relative: str) -> bytes:
    """The bytes of ``relative`` inside ``root`` (``Refused``: not a plain file of the project reached
    without a link; ``FileNotFoundError``: no such file)."""
    parts = relative.split("/")
    if not relative or relative.startswith("/") or "\\" in relative or "\0" in relative:
        raise Refused("not a relative path of the project")
    if any(part in ("", ".", "..") or part in SKIPPED for part in parts):
        raise Refused("not a path of the project's own files")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n, part in enumerate(parts):
            folder = os.O_DIRECTORY if n < len(parts) - 1 else os.O_NONBLOCK  # a planted FIFO must not block
            try:
                step = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | folder, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink, or a file where a folder should be
                    raise Refused("a link or a file on the way") from None
                raise FileNotFoundError(relative) from None
            os.close(fd)
            fd = step
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a plain file")
        if info.st_size > MAX_FILE:
            raise Refused(f"larger than {MAX_FILE // 1024 // 1024} MB; download the zip")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(MAX_FILE + 1)
    finally:
        os.close(fd)


def tree(root: Path) -> list[dict[str, object]]:
    """The project's plain files, sorted by path, with their sizes."""
    return [{"path": path, "size": size} for path, size in _walk(root)]


def _walk(root: Path) -> Iterator[tuple[str, int]]:
    if not root.is_dir() or root.is_symlink():
        return
    found: list[tuple[str, int]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not os.path.islink(os.path.join(folder, d)))
        for name in files:
            full = os.path.join(folder, name)
            info = os.lstat(full)
            if stat.S_ISREG(info.st_mode):
                found.append((os.path.relpath(full, root).replace(os.sep, "/"), info.st_size))
    yield from sorted(found)


def archive(root: Path, name: str) -> tempfile.SpooledTemporaryFile:  # type: ignore[type-arg]
    """A zip of the project's files under one folder ``name``, rewound, in a spooled temporary file."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115  (the caller streams and closes it)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, _ in _walk(root):
            try:
                data = read_file(root, path)
            except (Refused, FileNotFoundError):
                continue  # changed while the zip was made: left out rather than followed
            zf.writestr(f"{name}/{path}", data)
    out.seek(0)
    return out


def save_uploads(folder: Path, named: list[tuple[str, bytes]], *, limit: int) -> list[Path]:
    """Write uploaded data files into a new ``folder`` (the names are plain file names, validated by
    the request's schema); ``ValueError`` when they are more than ``limit`` bytes together."""
    if sum(len(data) for _, data in named) > limit:
        raise ValueError(f"the data files are over {limit // (1024 * 1024)} MB together")
    folder.mkdir(parents=True, mode=0o700)
    paths = []
    for name, data in named:
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        paths.append(path)
    return paths
