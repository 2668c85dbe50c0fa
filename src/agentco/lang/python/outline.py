"""The interface of a Python file (signatures, docstrings, constants) without its bodies.

Engineers get the outlines of the files they depend on instead of their full text: far fewer
prompt tokens, which on a laptop CPU are seconds.
"""

from __future__ import annotations

import ast


def outline(source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines: list[str] = []
    for node in tree.body:
        lines.extend(_outline_node(node, ""))
    return "\n".join(lines)


def _outline_node(node: ast.stmt, indent: str) -> list[str]:
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        out = [f"{indent}class {node.name}({bases}):" if bases else f"{indent}class {node.name}:"]
        out.extend(_doc(node, indent + "    "))
        body = [line for child in node.body for line in _outline_node(child, indent + "    ")]
        return out + (body or [f"{indent}    ..."])
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
        returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
        decorators = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
        return [
            *decorators,
            f"{indent}{prefix} {node.name}({ast.unparse(node.args)}){returns}:",
            *(_doc(node, indent + "    ") or [f"{indent}    ..."]),
        ]
    if isinstance(node, ast.Assign | ast.AnnAssign) and len(ast.unparse(node)) < 120:
        return [f"{indent}{ast.unparse(node)}"]
    return []


def _doc(node: ast.AST, indent: str) -> list[str]:
    doc = ast.get_docstring(node)  # type: ignore[arg-type]
    if not doc:
        return []
    first = doc.strip().splitlines()[0]
    return [f'{indent}"""{first}"""']
