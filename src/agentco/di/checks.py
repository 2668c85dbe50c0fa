"""Checks the program makes of a cell that the kernel ran without an error, and hints it adds to one
that failed. Each says what is wrong in a sentence the model can act on; only ``respelled`` changes code.

- ``answer_problem``: where a request gives an ``@name[value]`` answer format, the task typed
  ``answer`` must print those lines, and every cell must print them computed: a value the code
  spells out as text was not computed (small models copy the format's placeholder, or a guess,
  into a string).
- ``column_hints``: a ``KeyError`` for a column that a table in the kernel has under a slightly
  different name (spaces around it, another case, a near spelling) names the column as it is; where
  the names differ only by surrounding spaces, ``respelled`` makes the fix itself (one right answer).
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from typing import TYPE_CHECKING, Any

from agentco.di.notebook import answer_pairs, unsupported

if TYPE_CHECKING:
    from agentco.di.kernel import CellRun, SandboxKernel

_HINT_MARK = "__agentco_hints__"
_HINT_CODE = """
def _agentco_hints(keys):
    import difflib
    found = []
    for name, value in list(globals().items()):
        columns = getattr(value, "columns", None)
        if name.startswith("_") or columns is None or not hasattr(value, "shape"):
            continue
        labels = [c for c in columns if isinstance(c, str)]
        for key in keys:
            if key in labels:
                continue
            same = [c for c in labels if c.strip().casefold() == key.strip().casefold()]
            close = same or difflib.get_close_matches(key, labels, n=3, cutoff=0.75)
            if close:
                found.append({"table": name, "key": key, "columns": close})
    return found[:6]
print(MARK + __import__("json").dumps(_agentco_hints(KEYS)))
"""


def answer_problem(request: str, code: str, printed: str, printed_before: str = "", *, answers: bool) -> str | None:
    """What is wrong with a cell's answer lines, or None. Any cell may not print a value it spells out
    in its code; the cell of a task that ``answers`` must print each asked line (here or before)."""
    asked = list(answer_pairs(request))
    if not asked:
        return None
    pairs = answer_pairs(printed)
    typed = [f"@{n}[{v}]" for n, v in pairs.items() if n in asked and v.strip() and f"@{n}[{v}]" in code]
    typed = [pair for pair in typed if unsupported(pair, printed_before)]  # a value copied from before is fine
    if typed:
        return (
            f"The cell printed {', '.join(typed)}, but that value is written into the code as text, so it was not "
            "computed. Compute each value from the data and print it from its variable, "
            f'for example print(f"@{asked[0]}[{{value}}]").'
        )
    if not answers:
        return None
    before = answer_pairs(printed_before)
    missing = [n for n in asked if n not in pairs and n not in before]
    if missing:
        wrong = [f"@{n}" for n in pairs if n not in asked]
        instead = f" (it printed {', '.join(wrong)}, names the format does not ask for)" if wrong else ""
        return (
            f"The cell ran but printed no line for {', '.join('@' + n for n in missing)}{instead}. "
            "Compute what the request asks and print every value in the answer format, with exactly those names."
        )
    return None


def column_hints(kernel: SandboxKernel, run: CellRun) -> list[dict[str, Any]]:
    """For a ``KeyError``: the tables in the kernel that hold the key under a near name, as
    ``{"table", "key", "columns"}`` (empty for any other error, or when none does)."""
    error = run.error
    if error is None or error.get("ename") != "KeyError":
        return []
    keys = list(dict.fromkeys(re.findall(r"'([^'\n]{1,80})'", str(error.get("evalue", "")))))[:5]
    if not keys:
        return []
    code = _HINT_CODE.replace("MARK", repr(_HINT_MARK)).replace("KEYS", repr(keys))
    hint_run = kernel.execute(code, timeout=10, history=False)
    for out in hint_run.outputs:
        if out["output_type"] == "stream" and _HINT_MARK in out["text"]:
            try:
                hints = json.loads(out["text"].split(_HINT_MARK, 1)[1].splitlines()[0])
            except (ValueError, IndexError):
                return []
            return [h for h in hints if isinstance(h, dict) and {"table", "key", "columns"} <= set(h)]
    return []


def hint_lines(hints: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"Hint: {h['table']} has no column {h['key']!r}; it has {', '.join(repr(c) for c in h['columns'])}"
        for h in hints
    )


def respelled(code: str, hints: list[dict[str, Any]]) -> str | None:
    """The cell with each string literal naming a missing column replaced by the column's exact name,
    where that is a mechanical fix with one answer: the names differ only by the spaces around them
    (``'WINDSPEED'`` for ``' WINDSPEED'``, from a CSV header written ``a, b``). None when there is none."""
    exact = {}
    for h in hints:
        spaced = [c for c in h["columns"] if c.strip() == h["key"].strip()]
        if len(spaced) == 1:
            exact.setdefault(h["key"], set()).add(spaced[0])
    exact = {key: columns.pop() for key, columns in exact.items() if len(columns) == 1}
    if not exact:
        return None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    changed = False
    for number, token in enumerate(tokens):
        if token.type == tokenize.STRING and not token.string.lstrip("rRbBuU").startswith(("f", "F")):
            try:
                value = ast.literal_eval(token.string)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str) and value in exact:
                tokens[number] = token._replace(string=repr(exact[value]))
                changed = True
    return tokenize.untokenize(tokens) if changed else None
