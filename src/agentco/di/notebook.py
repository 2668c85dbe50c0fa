"""What the interpreter leaves in its folder: the notebook, the report, the answer, the charts."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from agentco.di.kernel import CellRun
from agentco.di.outputs import for_model

CHART_LIMIT = 8 * 1024 * 1024
"""Bytes of one image kept as a file (a cell could display anything)."""
ANSWER_PAIR = re.compile(r"@(\w+)\[(.*?)\]")


@dataclass
class Cell:
    """One cell as the kernel ran it (a failed attempt is a cell too)."""

    task_id: str
    instruction: str
    attempt: int
    code: str
    run: CellRun
    charts: list[str] = field(default_factory=list)
    hints: list[dict[str, Any]] = field(default_factory=list)
    """What the program found about its error (``checks.column_hints``)."""
    rejected: str = ""
    """Why a cell that ran did not pass its check (``checks.answer_problem``): its answer lines are not used."""

    @property
    def shown(self) -> str:
        return for_model(self.run.outputs, self.code, self.charts)


@dataclass
class TaskResult:
    status: str  # "done" or "failed"
    attempts: int
    code: str
    shown: str
    charts: list[str]


def charts_of(run: CellRun, task_id: str, attempt: int) -> list[tuple[str, bytes]]:
    """The PNG images a cell displayed, named for the task and attempt."""
    found = []
    for out in run.outputs:
        data = out.get("data", {}) if out["output_type"] in ("display_data", "execute_result") else {}
        if "image/png" in data:
            try:
                png = base64.b64decode(str(data["image/png"]), validate=False)
            except ValueError:
                continue
            if png.startswith(b"\x89PNG") and len(png) <= CHART_LIMIT:
                found.append((f"charts/task-{task_id}-{attempt}-{len(found) + 1}.png", png))
    return found


def notebook(request: str, cells: list[Cell]) -> Any:
    """A valid nbformat v4 notebook of every cell the kernel ran, each after its task's heading."""
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells.append(v4.new_markdown_cell(f"# {request}"))
    heading = None
    for cell in cells:
        if cell.task_id != heading:
            heading = cell.task_id
            nb.cells.append(v4.new_markdown_cell(f"## Task {cell.task_id}: {cell.instruction}"))
        if cell.attempt > 1:
            nb.cells.append(v4.new_markdown_cell(f"Attempt {cell.attempt} (the one before failed)"))
        code = v4.new_code_cell(cell.code, execution_count=cell.run.execution_count)
        code.outputs = [v4.output_from_msg(_as_msg(o)) for o in cell.run.outputs]
        nb.cells.append(code)
    nbformat.validate(nb)
    return nb


def _as_msg(output: dict[str, Any]) -> dict[str, Any]:
    """An output in the shape of the kernel message it came from (nbformat builds outputs from those)."""
    kind = output["output_type"]
    content = {k: v for k, v in output.items() if k != "output_type"}
    if kind == "execute_result" and content.get("execution_count") is None:
        content["execution_count"] = 0
    return {"header": {"msg_type": kind}, "content": content}


def answer_pairs(text: str) -> dict[str, str]:
    """``@name[value]`` pairs, the last value of a repeated name kept."""
    return {name: value for name, value in ANSWER_PAIR.findall(text)}


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def unsupported(answer: str, printed: str) -> list[str]:
    """The ``@name[value]`` pairs of an answer whose value no cell printed: a number counts as
    printed when a printed number rounds to it at the answer's decimals, a text when it appears."""
    numbers = [float(x) for x in _NUMBER.findall(printed)]
    found = []
    for name, value in answer_pairs(answer).items():
        try:
            number = float(value)
        except ValueError:
            if value.strip() not in printed:
                found.append(name)
            continue
        decimals = len(value.split(".")[1]) if "." in value else 0
        if not any(abs(x - number) <= 0.5 * 10**-decimals + 1e-9 for x in numbers):
            found.append(name)
    return found
