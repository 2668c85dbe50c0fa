"""How an engineer's edit of an existing file is expressed and applied.

The model does not rewrite a file it changes. It answers with the top-level pieces it adds or
changes, each one whole: imports, functions, classes, constants, the ``if __name__ == "__main__":``
block. ``merge`` puts them into the file by name, so everything the answer leaves out stays exactly
as it was:

- a function or constant with the name of one in the file replaces it; a new one is added (before
  the main block, when the file has one), unless the file imports that name (a second ``Entry``
  beside ``from .models import Entry`` would hide the real one: it is dropped, with a note);
- a class with the name of one in the file has its body merged the same way, method by method: a
  class in the answer may list only the methods it adds or changes (and its bases and class
  attributes, which replace the old ones by name);
- an import that is not in the file yet is added after the file's last top-level import;
- a main block replaces the file's main block.

Both the file and the answer must parse; the merged file is parsed again before it is kept. What
the answer holds besides those pieces (a stray call, an example at the bottom) is dropped, with a note.
An answer cut off at the token limit keeps the definitions it completed (``salvage``), with a note.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass
class Merged:
    source: str
    notes: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)


class EditError(ValueError):
    """The answer cannot be merged (it does not parse, or the result would not)."""


def merge(original: str, answer: str) -> Merged:
    try:
        tree = ast.parse(original)
    except SyntaxError as exc:
        raise EditError(f"the file does not parse: {exc.msg} (line {exc.lineno})") from None
    try:
        edit = ast.parse(answer)
    except SyntaxError as exc:
        raise EditError(f"the answer does not parse: {exc.msg} (line {exc.lineno})") from None
    result = Merged(original)
    lines = original.splitlines()
    pieces = answer.splitlines()
    # replacements first, from the bottom up, so earlier line numbers stay right
    changes: list[tuple[int, int, list[str]]] = []
    appended: list[str] = []
    imports: list[str] = []
    existing = _top_level(tree)
    imported = _imported_names(tree)
    for node in edit.body:
        text = _segment(pieces, node)
        name = _name(node)
        if isinstance(node, ast.Import | ast.ImportFrom):
            if not any(_same(node, old) for old in tree.body if isinstance(old, ast.Import | ast.ImportFrom)):
                imports.extend(text)
            continue
        if name is None:
            result.notes.append(f"dropped a statement that is not a definition (line {node.lineno} of the answer)")
            continue
        old = existing.get(name)
        if old is None and name in imported:  # a second `Entry` beside `from .models import Entry` hides it
            result.notes.append(f"dropped the answer's `{name}`: the file imports that name, and a definition "
                                "here would hide the imported one")  # fmt: skip
            continue
        if old is None:
            appended.extend(["", "", *text] if isinstance(node, Definition) else ["", *text])
            result.added.append(name)
            continue
        if isinstance(node, ast.ClassDef) and isinstance(old, ast.ClassDef):
            text = _merged_class(lines, old, pieces, node)
        start, end = _span(old)
        changes.append((start, end, text))
        result.replaced.append(name)
    for start, end, text in sorted(changes, reverse=True):
        lines[start - 1 : end] = text
    if appended:
        try:
            main = _main_block(ast.parse("\n".join(lines) + "\n"))
        except SyntaxError as exc:
            raise EditError(f"the merged file does not parse: {exc.msg} (line {exc.lineno})") from None
        at = _span(main)[0] - 1 if main is not None else len(lines)
        while at > 0 and not lines[at - 1].strip():
            at -= 1
        lines[at:at] = appended
    try:
        if imports:
            now = ast.parse("\n".join(lines) + "\n")
            after = max((n.end_lineno or n.lineno for n in now.body if isinstance(n, ast.Import | ast.ImportFrom)),
                        default=_docstring_end(now))  # fmt: skip
            lines[after:after] = imports
        source = "\n".join(lines).rstrip("\n") + "\n"
        ast.parse(source)
    except SyntaxError as exc:
        raise EditError(f"the merged file does not parse: {exc.msg} (line {exc.lineno})") from None
    result.source = source
    return result


def _imported_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def _top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    return {name: node for node in tree.body if (name := _name(node)) is not None}


def _name(node: ast.stmt) -> str | None:
    """What a top-level piece is called: a definition's name, a constant's, or the main block."""
    if isinstance(node, Definition):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if _is_main(node):
        return "__main__"
    return None


def _is_main(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test)


def _main_block(tree: ast.Module) -> ast.stmt | None:
    return next((node for node in tree.body if _is_main(node)), None)


def _span(node: ast.stmt) -> tuple[int, int]:
    """First and last line of a piece, its decorators included (1-based, inclusive)."""
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return start, node.end_lineno or node.lineno


def _segment(lines: list[str], node: ast.stmt) -> list[str]:
    start, end = _span(node)
    return lines[start - 1 : end]


def _same(a: ast.stmt, b: ast.stmt) -> bool:
    return ast.unparse(a) == ast.unparse(b)


def _docstring_end(tree: ast.Module) -> int:
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno or first.lineno
    return 0


def _merged_class(lines: list[str], old: ast.ClassDef, pieces: list[str], new: ast.ClassDef) -> list[str]:
    """The old class with the new one's header, and its members merged by name (new ones appended),
    its layout (blank lines, comments) kept where nothing changed."""
    first, last = _span(old)
    body = lines[first - 1 : last]
    offset = first - 1
    members = {name: node for node in old.body if (name := _name(node)) is not None}
    changes: list[tuple[int, int, list[str]]] = []
    added: list[str] = []
    for node in new.body:
        name = _name(node)
        like = members.get(name or "") or old.body[-1]
        text = _indented(_segment(pieces, node), pieces, node, lines, like)
        if name is not None and name in members:
            start, end = _span(members[name])
            changes.append((start - offset, end - offset, text))
        elif name is not None:
            added.extend(["", *text])
    for start, end, text in sorted(changes, reverse=True):
        body[start - 1 : end] = text
    body.extend(added)
    old_header = (_span(old.body[0])[0] if old.body else old.lineno + 1) - first
    new_start = _span(new)[0]
    new_header = pieces[new_start - 1 : (_span(new.body[0])[0] - 1 if new.body else new.lineno)]
    while new_header and not new_header[-1].strip():
        new_header.pop()
    return [*new_header, *body[old_header:]]


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _indented(text: list[str], pieces: list[str], node: ast.stmt, lines: list[str], like: ast.stmt) -> list[str]:
    """``text`` re-indented from the answer's indentation to the old class body's."""
    have = _indent(pieces[_span(node)[0] - 1])
    want = _indent(lines[_span(like)[0] - 1])
    if have == want:
        return list(text)
    return [want + line[len(have) :] if line.startswith(have) else line for line in text]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


_DEFINITION_LINE = re.compile(r"^\s*(?:async\s+def|def|class|@)\b|^\s*@")


def salvage(answer: str) -> str | None:
    """What of an answer cut off at the token limit can still be merged: the longest head that parses,
    cut before the definition it stopped in, without the definitions it repeated (a small model that
    loops writes the same methods again until the limit). None when no complete definition is left."""
    from agentco.llm.structured import strip_fence

    lines = strip_fence(answer).splitlines()
    starts = [n for n, line in enumerate(lines) if _DEFINITION_LINE.match(line)]
    for cut in reversed(starts):
        head = "\n".join(lines[:cut]).rstrip()
        try:
            tree = ast.parse(head)
        except SyntaxError:
            continue
        if any(isinstance(node, Definition) for node in tree.body):
            return _without_repeats(head.splitlines(), tree)
    return None


def _without_repeats(lines: list[str], tree: ast.Module) -> str:
    """``lines`` without the second and later definitions of a name, at the top level and in classes."""
    drop: list[tuple[int, int]] = []

    def scan(body: list[ast.stmt]) -> None:
        seen: set[str] = set()
        for node in body:
            name = _name(node)
            if name is not None and name in seen:
                drop.append(_span(node))
            elif name is not None:
                seen.add(name)
                if isinstance(node, ast.ClassDef):
                    scan(node.body)

    scan(tree.body)
    for start, end in sorted(drop, reverse=True):
        del lines[start - 1 : end]
    return "\n".join(lines).rstrip() + "\n"
