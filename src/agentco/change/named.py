"""The names a change request spells out, and which of them the code does not have yet.

A request names what it adds in backticks: functions and methods (`peek`, `resize(capacity)`), a
new keyword argument in a call form (`LRUCache(capacity, on_evict=None)`), attributes, exceptions
and command-line options (`--flat`, `export [--month]`, `delete ID`). An edit that leaves one of them out of
the project's code is unfinished whatever the tests say, and a small model often stops at the first
two items of a list, so the program checks it mechanically and sends the missing names back to the
engineer once. Placeholders (`ID`, `KEY`), literals (`"3"`, `2.5`, `True`), dotted paths and plain
builtins (`int`) are not names the code must hold.
"""

from __future__ import annotations

import builtins
import keyword
import re
import sys
from collections.abc import Mapping

_SPAN = re.compile(r"`([^`\n]{1,120})`")
_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]*)")
_CALL = re.compile(r"^([A-Za-z_]\w*)\s*(?:\((.*)\)(?:\s*->.*)?)?$")
_COMMAND = re.compile(r"^([a-z][\w-]*)(?:\s+(?:[A-Z][A-Z0-9_-]*|\[[^\]]*\]|--?[\w-]+))+$")
_KEYWORD_ARG = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*=(?!=)")


def requested_names(request: str) -> list[str]:
    """The identifiers and options the request spells in backticks, in order, each once."""
    names: list[str] = []
    for span in _SPAN.findall(request):
        span = span.strip()
        found = _OPTION.findall(span)
        if call := _CALL.match(span):
            found = [call.group(1), *_KEYWORD_ARG.findall(call.group(2) or ""), *found]
        elif command := _COMMAND.match(span):  # `delete ID`, `export [--month YYYY-MM]`: a command's usage
            found = [command.group(1), *found]
        names.extend(name for name in found if _is_name(name) and name not in names)
    return names


def missing_names(request: str, sources: Mapping[str, str]) -> list[str]:
    """The requested names that appear nowhere in ``sources`` (path and text; as a whole word, an
    option as written): a program's name may be only its folder's. An option counts only where the
    command line is parsed, when some file parses it: one spelled in a usage message elsewhere is
    not an option the program takes."""
    text = "\n".join(f"{path}\n{code}" for path, code in sources.items())
    parsing = "\n".join(code for code in sources.values() if _PARSING.search(code)) or text
    return [name for name in requested_names(request) if not _appears(name, parsing if name[0] == "-" else text)]


def owners(
    missing: list[str], descriptions: Mapping[str, str], request: str = "", parser: str | None = None
) -> dict[str, list[str]]:
    """Each missing name given to the file whose task mentions it, else (an option) to the file that
    parses the command line, else to the file whose task mentions most of the request's names."""
    if not descriptions:
        return {}
    spelled = [*requested_names(request), *missing]
    main = max(descriptions, key=lambda p: sum(_appears(name, descriptions[p]) for name in spelled))
    given: dict[str, list[str]] = {}
    for name in missing:
        fallback = parser if parser is not None and name.startswith("-") else main
        path = next((p for p, d in descriptions.items() if _appears(name, d)), fallback)
        given.setdefault(path, []).append(name)
    return given


_REMOVAL = re.compile(r"\b(remov|drop|delet)\w*\b[^.]*\b(option|command|flag|argument)", re.I)


def says_it_removes(request: str) -> bool:
    """Whether the request says, in one sentence, that it removes a command-line option or command."""
    return _REMOVAL.search(request) is not None


_PARSING = re.compile(r"\.add_argument\(|\.add_parser\(|\bsys\.argv\b|@click\.|typer\.")


def command_line_file(sources: Mapping[str, str]) -> str | None:
    """The source file that parses the command line (its options go there), the first of several."""
    return next((path for path, code in sorted(sources.items()) if _PARSING.search(code)), None)


def _appears(name: str, text: str) -> bool:
    if name.startswith("-"):
        return name in text
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text) is not None


def _is_name(name: str) -> bool:
    if name.startswith("--"):
        return True
    if len(name) < 2 or keyword.iskeyword(name) or name.isupper() or name in sys.stdlib_module_names:
        return False  # `ID`, `KEY`: placeholders of a usage line; `csv`: a module the code may import
    value = getattr(builtins, name, None)
    if value is not None:  # `int`, `len`, `True`: not the project's names; an exception it must raise is
        return isinstance(value, type) and issubclass(value, BaseException)
    return True
