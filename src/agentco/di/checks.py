"""Checks the program makes of a cell that the kernel ran without an error, and hints it adds to one
that failed. Each says what is wrong in a sentence the model can act on; none changes the code.

- ``answer_problem``: where a request gives an ``@name[value]`` answer format, the task typed
  ``answer`` must print those lines, and every cell must print them computed: a value the code
  spells out as text was not computed (small models copy the format's placeholder, or a guess,
  into a string).
- ``key_hints``: a ``KeyError`` for a column that a table in the kernel has under a slightly
  different name (spaces around it, another case, a near spelling) names the column as it is.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

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
        labels = [str(c) for c in columns]
        for key in keys:
            if key in labels:
                continue
            same = [c for c in labels if c.strip().casefold() == key.strip().casefold()]
            close = same or difflib.get_close_matches(key, labels, n=3, cutoff=0.75)
            if close:
                found.append(f"{name} has no column {key!r}; it has {', '.join(repr(c) for c in close)}")
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


def key_hints(kernel: SandboxKernel, run: CellRun) -> str:
    """Hint lines for a ``KeyError`` whose key a table in the kernel has under a near name ("" if none)."""
    error = run.error
    if error is None or error.get("ename") != "KeyError":
        return ""
    keys = list(dict.fromkeys(re.findall(r"'([^'\n]{1,80})'", str(error.get("evalue", "")))))[:5]
    if not keys:
        return ""
    code = _HINT_CODE.replace("MARK", repr(_HINT_MARK)).replace("KEYS", repr(keys))
    hint_run = kernel.execute(code, timeout=10, history=False)
    for out in hint_run.outputs:
        if out["output_type"] == "stream" and _HINT_MARK in out["text"]:
            try:
                hints = json.loads(out["text"].split(_HINT_MARK, 1)[1].splitlines()[0])
            except (ValueError, IndexError):
                return ""
            return "\n".join(f"Hint: {h}" for h in hints if isinstance(h, str))
    return ""
