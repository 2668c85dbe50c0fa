"""Whether an edit still accepts every call the old code accepted.

A project without tests has nothing to catch a change that breaks its callers, and a small model
does it often: it gave a dataclass an ``__init__`` without the ``id`` field, and every ``add`` of the
ledger failed. So an edit is refused, with what breaks, when a public function, method or class
constructor that existed before loses a parameter, moves one, or needs a new one without a default,
or when the command line loses a command or option its argparse parser defined.
Names the change request spells are exempt: the request may change them on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    positional: tuple[tuple[str, bool], ...]
    """Each positional parameter, with whether it has a default (``self``/``cls`` left out)."""
    keyword: tuple[tuple[str, bool], ...] = ()
    varargs: bool = False
    varkw: bool = False

    def shown(self) -> str:
        names = [name for name, _ in self.positional] + (["*args"] if self.varargs else [])
        names += [name for name, _ in self.keyword] + (["**kwargs"] if self.varkw else [])
        return f"({', '.join(names)})"


def broken_calls(before: str, after: str, exempt: Collection[str] = (), removing: bool = False) -> list[str]:
    """How calls that worked on ``before`` fail on ``after``, one line per definition. A command or
    option the parser loses is exempt only when the request says it removes something (``removing``)
    and names it: a request names `balance` to say it keeps working far more often than to drop it."""
    try:
        old, new = signatures(ast.parse(before)), signatures(ast.parse(after))
    except SyntaxError:
        return []
    problems = []
    for name, was in old.items():
        now = new.get(name)
        if now is None or now == was or name.split(".")[-1] in exempt or name.split(".")[0] in exempt:
            continue
        if why := _incompatible(was, now):
            problems.append(f"`{name}` took {was.shown()} and would take {now.shown()}: {why}")
    removal = removing and bool(exempt)  # a request that says it removes something, naming what
    lost = [w for w in _command_line(before) if w not in _command_line(after)
            and not (removal and (w in exempt or w.lstrip("-") in exempt))]  # fmt: skip
    if lost:
        problems.append(f"the command line would lose {', '.join(f'`{w}`' for w in lost)}: keep every command and "
                        "option it has")  # fmt: skip
    return problems


def _command_line(source: str) -> list[str]:
    """The commands and options an argparse parser in ``source`` defines (``add_parser("x")``,
    ``add_argument("--x")``), in order."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("add_parser", "add_argument") and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            and node.args[0].value not in found
        ):  # fmt: skip
            found.append(node.args[0].value)
    return found


def signatures(tree: ast.Module) -> dict[str, Signature]:
    """The public functions (``f``), methods (``C.m``) and constructors (``C``) of a module."""
    found: dict[str, Signature] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            found[node.name] = _of(node.args, method=False)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) and not member.name.startswith("_"):
                    static = any(ast.unparse(d) == "staticmethod" for d in member.decorator_list)
                    found[f"{node.name}.{member.name}"] = _of(member.args, method=not static)
            if (init := _constructor(node)) is not None:
                found[node.name] = init
    return found


def _of(args: ast.arguments, method: bool) -> Signature:
    positional = [*args.posonlyargs, *args.args][1 if method else 0 :]
    defaults = len(args.defaults)
    first_default = len([*args.posonlyargs, *args.args]) - defaults
    offset = 1 if method else 0
    return Signature(
        tuple((a.arg, i + offset >= first_default) for i, a in enumerate(positional)),
        tuple((a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)),
        args.vararg is not None,
        args.kwarg is not None,
    )


def _constructor(cls: ast.ClassDef) -> Signature | None:
    for member in cls.body:
        if isinstance(member, ast.FunctionDef) and member.name == "__init__":
            return _of(member.args, method=True)
    if any("dataclass" in ast.unparse(d) for d in cls.decorator_list):
        fields = [
            (m.target.id, m.value is not None)
            for m in cls.body
            if isinstance(m, ast.AnnAssign) and isinstance(m.target, ast.Name) and "ClassVar" not in ast.unparse(m)
        ]
        return Signature(tuple(fields))
    return None


def _incompatible(was: Signature, now: Signature) -> str | None:
    for i, (name, had_default) in enumerate(was.positional):
        if i >= len(now.positional):
            if not now.varargs:
                return f"`{name}` is no longer accepted"
            continue
        new_name, has_default = now.positional[i]
        if new_name != name and not now.varkw:
            return f"`{new_name}` stands where `{name}` was"
        if had_default and not has_default:
            return f"`{name}` lost its default"
    for name, has_default in now.positional[len(was.positional) :]:
        if not has_default:
            return f"the new `{name}` needs a default"
    accepted = {name for name, _ in now.positional} | {name for name, _ in now.keyword}
    for name, _ in was.keyword:
        if name not in accepted and not now.varkw:
            return f"`{name}` is no longer accepted"
    old_keywords = {name for name, _ in was.keyword}
    for name, has_default in now.keyword:
        if not has_default and name not in old_keywords:
            return f"the new `{name}` needs a default"
    return None
