"""Python's special methods, read from the expressions that call them.

A requirement that says "`len(cache)` is the number of stored keys" asks for ``__len__``; a small
model reading it writes ``def len(self)``, and a design lists "len(cache)" or "key in cache" as a
class's methods. Both have one right answer, read here from the expression's shape (through ``ast``):
the design's entry becomes the special method, and the engineer is told which ones the requirement's
expressions need.
"""

from __future__ import annotations

import ast
import re

_SPAN = re.compile(r"`([^`\n]+)`")

_CALLS = {
    "len": "__len__(self)",
    "iter": "__iter__(self)",
    "reversed": "__reversed__(self)",
}
"""Built-in functions that call one special method of their only argument, and whose names an
ordinary method hardly has."""
_OWN_CALLS = {
    "str": "__str__(self)",
    "repr": "__repr__(self)",
    "bool": "__bool__(self)",
    "hash": "__hash__(self)",
    "abs": "__abs__(self)",
    "int": "__int__(self)",
    "float": "__float__(self)",
    "next": "__next__(self)",
}
"""The same, with names an ordinary method may have (a hash table's ``hash(key)``): taken only when
the argument is the object itself (``self``, or a word of its class's name: ``str(point)`` in ``Point``)."""

_COMPARE = {
    ast.Eq: "__eq__(self, other)",
    ast.NotEq: "__ne__(self, other)",
    ast.Lt: "__lt__(self, other)",
    ast.LtE: "__le__(self, other)",
    ast.Gt: "__gt__(self, other)",
    ast.GtE: "__ge__(self, other)",
}
_BINARY = {
    ast.Add: "__add__(self, other)",
    ast.Sub: "__sub__(self, other)",
    ast.Mult: "__mul__(self, other)",
    ast.Div: "__truediv__(self, other)",
    ast.BitOr: "__or__(self, other)",
    ast.BitAnd: "__and__(self, other)",
}
# the forms a requirement's prose uses on objects without ambiguity; comparisons, arithmetic and
# subscripts there are mostly about values (`merge(x) == [...]`, `row["name"]`), so only a design's
# method entry maps them
_PROSE = {"__len__", "__contains__", "__iter__", "__reversed__"}


def special_method(entry: str, owner: str = "") -> str | None:
    """A design's method entry of class ``owner`` written as the expression that calls it
    (``len(cache)``, ``key in cache``, ``cache[key] = value``), as the special method's signature
    (``__len__(self)``); None for an ordinary method (``get(key)``) or anything else."""
    text = entry.strip().strip("`").strip()
    if re.match(r"^(def\s+)?_*\w+__\s*\(", text) or re.match(r"^__\w+__$", text):
        return None  # already a special method
    return _method_of(text, owner=owner)


def special_methods(text: str) -> list[tuple[str, str]]:
    """``(expression, method name)`` for each code span of ``text`` that uses a special method on a
    plain name (``len(cache)`` → ``__len__``, ``key in cache`` → ``__contains__``), in order, once each."""
    found: dict[str, str] = {}
    for span in _SPAN.finditer(text):
        method = _method_of(span[1].strip(), on_names_only=True)
        if method is not None:
            found.setdefault(span[1].strip(), method.split("(")[0])
    return [(expression, name) for expression, name in found.items() if name in _PROSE]


def _method_of(text: str, on_names_only: bool = False, owner: str = "") -> str | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    if len(tree.body) != 1:
        return None
    statement = tree.body[0]
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Subscript) and _plain(target.value):
            return "__setitem__(self, key, value)"
        return None
    if isinstance(statement, ast.Delete) and len(statement.targets) == 1:
        target = statement.targets[0]
        return "__delitem__(self, key)" if isinstance(target, ast.Subscript) and _plain(target.value) else None
    if not isinstance(statement, ast.Expr):
        return None
    node = statement.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1 and not node.keywords:
        argument = node.args[0]
        if node.func.id in _OWN_CALLS and not on_names_only and _itself(argument, owner):
            return _OWN_CALLS[node.func.id]
        method = _CALLS.get(node.func.id)
        return method if method and _plain(argument) else None
    if isinstance(node, ast.Subscript) and _plain(node.value) and not isinstance(node.slice, ast.Slice):
        return "__getitem__(self, key)"
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op, right = node.ops[0], node.comparators[0]
        if isinstance(op, ast.In | ast.NotIn) and _plain(right):
            return "__contains__(self, item)"
        if not on_names_only and _plain(node.left) and _plain(right):
            return _COMPARE.get(type(op))
    if isinstance(node, ast.BinOp) and not on_names_only and _plain(node.left) and _plain(node.right):
        return _BINARY.get(type(node.op))
    return None


def _itself(node: ast.expr, owner: str) -> bool:
    """``self``, or a name that is a word of ``owner`` (``point`` in ``Point``, ``cache`` in ``LRUCache``)."""
    if not isinstance(node, ast.Name):
        return False
    name = node.id.lower()
    return name == "self" or (len(name) > 2 and owner.lower().endswith(name)) or name == owner.lower()


def _plain(node: ast.expr) -> bool:
    """A name or an attribute of one (``cache``, ``self.items``): an object, not a literal."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)
