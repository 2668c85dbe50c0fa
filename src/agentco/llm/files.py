"""A reply that holds several files: each one a fenced block under its path. Read as untrusted
input: a path that would leave the project or name a hidden file is not a file of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from agentco.llm.structured import OutputInvalid

_PATH = re.compile(r"^[ \t>*#`-]*(?:FILE|File|file)?:?[ \t*`]*([\w./-]+\.\w+)[ \t*`:]*$", re.M)
_FENCE = re.compile(r"^[ \t]*```([^`\n]*)\n(.*?)^[ \t]*```", re.S | re.M)
_COMMENT_PATH = re.compile(r"\A[ \t]*#[ \t]*(?:FILE:?[ \t]*)?([\w./-]+\.py)[ \t]*\n")


def project_files(reply: str) -> dict[str, str]:
    """The files of a reply: each fenced block under the path written on a line before it (or in its
    info string, or as its first comment line). A path that would leave the project, or name a hidden
    file, is not a file of it; a block with no path is left out, and so is a block never closed (a
    reply cut off at the token limit keeps the files it finished)."""
    files: dict[str, str] = {}
    last_end = 0
    for block in _FENCE.finditer(reply):
        before = _PATH.findall(reply[last_end : block.start()])
        info, body = (block.group(1).split() or [""])[-1], block.group(2)
        first = _COMMENT_PATH.match(body)
        name = before[-1] if before else info if "." in info else first.group(1) if first else ""
        last_end = block.end()
        if name and inside(name):
            files[name] = body
    return files


def inside(name: str) -> bool:
    """Whether the relative path ``name`` stays inside its project and names no hidden file."""
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", "..") and not part.startswith(".") for part in path.parts)


@dataclass
class FilesOutput:
    """Several files in one reply, as ``{path: text}``. ``check`` sees the files found and returns
    what is wrong with them (shown to the model on retry) or None; a reply with no file is refused."""

    name: str = "files"
    check: Callable[[dict[str, str]], str | None] | None = None
    json_schema: dict[str, Any] | None = None

    def parse(self, text: str) -> dict[str, str]:
        files = project_files(text)
        if not files:
            raise OutputInvalid("no file found: write each file's path on a line of its own, then its code block")
        if self.check is not None and (problem := self.check(files)):
            raise OutputInvalid(problem)
        return files

    def salvage(self, text: str) -> str:
        """A reply cut off at the token limit: the files it finished are parsed and checked as usual."""
        return text
