"""How a requirement says Python code is used: modules, packages and ``python -m`` programs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentco.lang import base

DESCRIPTION = "modules, packages and `python -m` programs the requirement names"
"""The PRD's entry_points field, as the model reads it."""


class EntryPoint(base.EntryPoint):
    def files(self) -> list[list[str]]:
        if self.kind == "module":
            return [[f"{self.name}.py"], [f"{self.name}/__init__.py"]]
        if self.kind == "package":
            return [[f"{self.name}/__init__.py"]]
        return [[f"{self.name}/__init__.py", f"{self.name}/__main__.py"], [f"{self.name}.py"]]

    def describe(self) -> str:
        return {
            "module": f"module {self.name}",
            "package": f"package {self.name}/",
            "command": f"`python -m {self.name}`",
        }[self.kind]


def entry_points_in(requirement: str, listed: Sequence[base.EntryPoint] = ()) -> list[EntryPoint]:
    """``listed`` (the PRD's) and the entry points the user's own words name: `python -m NAME`,
    `NAME.py`, a package folder `NAME/` (a small model leaves the PRD's list empty)."""
    found = [EntryPoint(kind=e.kind, name=e.name) for e in listed]
    found += [EntryPoint(kind="command", name=m) for m in re.findall(r"python3? -m ([A-Za-z_]\w*)", requirement)]
    found += [EntryPoint(kind="module", name=m) for m in _top_level_modules(requirement)]
    found += [EntryPoint(kind="package", name=m) for m in re.findall(r"`([A-Za-z_]\w*)/`", requirement)]
    return list({(e.kind, e.name): e for e in found}.values())


def _top_level_modules(requirement: str) -> list[str]:
    """The `NAME.py` modules the requirement names, less those a sentence names after a package
    (`a package `ledger/` with these modules: `models.py`, ...`): those are the package's modules."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z`])|\n\s*\n", requirement):
        package = re.search(r"`[A-Za-z_]\w*/`", sentence)
        found += re.findall(r"`([A-Za-z_]\w*)\.py`", sentence[: package.start()] if package else sentence)
    return found


def usage_lines(requirement: str) -> dict[str, str]:
    """How the requirement writes each program's command line, by program: the first quoted
    `python -m NAME ...` of each NAME, e.g. {"kv": "python -m kv --db FILE COMMAND ..."}."""
    found: dict[str, str] = {}
    for match in re.finditer(r"`(python3? -m ([A-Za-z_]\w*)[^`\n]*)`", requirement):
        found.setdefault(match[2], " ".join(match[1].split()))
    return found


def required_words(usage: str) -> list[str]:
    """The words of a usage line after ``python -m NAME``, without its [optional] parts."""
    words = re.sub(r"^python3? -m \S+", "", usage)
    while re.search(r"\[[^\[\]]*\]", words):  # innermost first, so nested brackets go too
        words = re.sub(r"\[[^\[\]]*\]", " ", words)
    return words.split()


def is_placeholder(word: str) -> bool:
    """A value the user fills in: ``FILE``, ``N``, ``<path>``."""
    return bool(_PLACEHOLDER.fullmatch(word))


def imported_in(requirement: str, name: str) -> bool:
    """Whether the requirement imports from the module or package ``name`` (``from name import x``,
    ``import name``) or uses an attribute of it (`` `name.x` ``)."""
    return re.search(rf"\b(from|import)\s+{re.escape(name)}\b|`{re.escape(name)}\.\w", requirement) is not None


def most_arguments(usage: str) -> tuple[int, set[str]] | None:
    """How many positional arguments a usage line takes at most, with the options it writes taking a
    value (``--max-level`` in ``python -m mdtoc PATH [--max-level N]``: 1, {"--max-level"}); None when
    the number varies (``...``, alternatives) or the line names commands (``add TEXT``)."""
    words = re.sub(r"^python3? -m \S+", "", usage)
    if re.search(r"\.\.\.|…|\|", words):
        return None
    count, valued, option = 0, set(), None
    for token in words.replace("[", " [ ").replace("]", " ] ").split():
        if token in "[]":
            option = None  # an option's value is inside its own brackets
        elif token.startswith("-"):
            name, _, value = token.partition("=")
            option = None if value else name
            if value:
                valued.add(name)
        elif not _PLACEHOLDER.fullmatch(token):
            return None  # a command word: what follows depends on the command
        elif option is not None:
            valued.add(option)  # the option's value
            option = None
        else:
            count += 1
    return count, valued


def required_options(usage: str) -> list[str]:
    """The global options a usage line requires: those written before its first command or
    positional argument and outside [brackets]. ``--db`` in ``python -m kv --db FILE COMMAND ...``
    (FILE is the option's value); none in ``python -m todo add TEXT --due DATE``, whose ``--due``
    belongs to the ``add`` command, nor in ``python -m tool [--verbose] PATH``."""
    found: list[str] = []
    tokens = required_words(usage)
    while tokens and (option := re.fullmatch(r"(--?[A-Za-z][\w-]*)(=\S*)?", tokens[0])):
        found.append(option[1])
        tokens.pop(0)
        if not option[2] and tokens and _PLACEHOLDER.fullmatch(tokens[0]):
            tokens.pop(0)  # the option's value, not the first argument
    return found


_PLACEHOLDER = re.compile(r"<[^<>\s]+>|[A-Z][A-Z0-9_]*")
"""A value the user fills in: ``FILE``, ``N``, ``<path>``."""
