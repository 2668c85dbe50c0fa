"""A cell's outputs as the model reads them, within a stated size.

The rule (the model is told what was cut): printed text keeps its first ``HEAD`` and last ``TAIL``
characters; a traceback keeps the cell's own frames (the line that failed, marked), says how many
frames inside libraries were cut (only the last is kept, when the cell has none: a syntax error),
and ends with the error line; a table or an image is named, not shown (an image is saved under
``charts/``)."""

from __future__ import annotations

import re
from typing import Any

HEAD, TAIL = 1200, 600
_CELL_FRAME = ("Cell In[", "Input In [")


def clip(text: str, head: int = HEAD, tail: int = TAIL) -> str:
    if len(text) <= head + tail:
        return text
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut from the middle ...]\n{text[-tail:]}"


def error_text(output: dict[str, Any], code: str = "") -> str:
    """The error as the model needs it: the cell's frames, the failing line, the type and message."""
    frames = [f for f in output.get("traceback", [])[:-1] if f.strip() and not set(f.strip()) <= {"-"}]
    frames = [f for f in frames if not f.lstrip().startswith(str(output.get("ename", "Error")) + " ")]
    own = [f for f in frames if f.lstrip().startswith(_CELL_FRAME)]
    kept = own or frames[-1:]
    lines = [clip(f, 500, 300) for f in kept]
    if len(frames) > len(kept):
        lines.append(f"[{len(frames) - len(kept)} traceback frames inside libraries cut]")
    failing = failing_line(frames, code)
    if failing:
        lines.append(f"The failing line of the cell: {failing}")
    lines.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    return "\n".join(lines)


def failing_line(frames: list[str], code: str) -> str | None:
    """The line of the cell the traceback points at (IPython marks it ``----> N``)."""
    for frame in frames:
        if frame.lstrip().startswith(_CELL_FRAME):
            marked = re.search(r"^-+>\s*(\d+)", frame, re.M)
            if marked and code:
                number = int(marked[1])
                lines = code.splitlines()
                if 1 <= number <= len(lines):
                    return lines[number - 1].strip()
    return None


def for_model(outputs: list[dict[str, Any]], code: str = "", charts: list[str] | None = None) -> str:
    """What the cell showed, in a few hundred words at most."""
    parts: list[str] = []
    for out in outputs:
        kind = out["output_type"]
        if kind == "stream":
            parts.append(out["text"])
        elif kind == "error":
            parts.append(error_text(out, code))
        else:
            data = out.get("data", {})
            if "text/plain" in data:
                parts.append(str(data["text/plain"]))
            elif "image/png" not in data:
                parts.append(f"[{', '.join(data) or 'empty'} output]")
    text = clip("\n".join(p.rstrip("\n") for p in parts if p))
    if charts:
        text += ("\n" if text else "") + "Charts saved: " + ", ".join(charts)
    return text or "(no output)"
