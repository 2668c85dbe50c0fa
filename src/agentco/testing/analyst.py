"""A fake model that plays the Data Interpreter for a known small analysis (``fake:sales``).

It answers by what is asked (the request's schema name: ``plan``, ``cell 2``, ``fix 2``,
``answer``), never by the prompt's wording. A task's cells are served in order: the first
version, then one per fix, the last repeated.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from agentco.llm.base import ChatRequest

SALES_CSV = "month,region,revenue\n" + "".join(
    f"2024-{m:02d},{region},{base + growth * m}\n"
    for m in range(1, 7)
    for region, base, growth in (("north", 100, 5), ("south", 120, 2), ("east", 90, 9))
)
"""The table the ``sales`` script reads as ``data/sales.csv`` (east grows fastest: 9 a month)."""


@dataclass
class AnalysisScript:
    plan: list[dict]
    cells: dict[str, list[str]]
    answer: str
    script: str = ""
    """The one script the bare DABench baseline asks for (``script``)."""
    served: dict[str, int] = field(default_factory=dict)

    def reply(self, request: ChatRequest) -> str:
        name = request.schema_name
        if name == "plan":
            return json.dumps({"tasks": self.plan})
        if name == "answer":
            return self.answer
        if name == "script" and self.script:
            return "```python\n" + self.script + "```\n"
        kind, _, task = name.partition(" ")
        if kind in ("cell", "fix") and task in self.cells:
            versions = self.cells[task]
            n = self.served.get(task, 0)
            self.served[task] = n + 1
            return "```python\n" + versions[min(n, len(versions) - 1)] + "```\n"
        raise AssertionError(f"the scripted analysis has no answer for {name!r}")


SALES = AnalysisScript(
    plan=[
        {"id": "1", "instruction": "Load data/sales.csv into df and print its shape", "type": "load"},
        {
            "id": "2",
            "instruction": "Compute each region's monthly growth and print the fastest",
            "type": "analyse",
            "depends_on": ["1"],
        },
        {"id": "3", "instruction": "Plot monthly revenue", "type": "plot", "depends_on": ["1"]},
    ],  # fmt: skip
    cells={
        "1": ['import pandas as pd\ndf = pd.read_csv("data/sales.csv")\nprint(df.shape)\n'],
        "2": [
            # the first version uses a name no cell defined: the fix loop must catch it
            "slopes = dff.groupby('region')['revenue'].apply(lambda s: s.diff().mean())\nprint(slopes)\n",
            "slopes = df.groupby('region')['revenue'].apply(lambda s: s.diff().mean())\n"
            "fastest = slopes.idxmax()\nprint(f'fastest: {fastest} (+{slopes.max():.1f} a month)')\n",
        ],
        "3": [
            "import matplotlib.pyplot as plt\nmonthly = df.groupby('month')['revenue'].sum()\n"
            "monthly.plot(title='Monthly revenue')\nplt.show()\nprint(monthly.iloc[-1])\n"
        ],
    },
    answer="East grew fastest, by 9.0 a month.\n\n@fastest_region[east]",
    script="import pandas as pd\ndf = pd.read_csv('data/sales.csv')\n"
    "slopes = df.groupby('region')['revenue'].apply(lambda s: s.diff().mean())\nprint(f'@fastest_region[{slopes.idxmin()}]')\n",
)

ANALYSES = {"sales": SALES}


def analysis_model(name: str, delay: float = 0.0, call_log: str | None = None):  # noqa: ANN201
    """The scripted analysis ``name`` as a model; ``call_log`` gets one line per call made."""
    from agentco.llm.fake import FunctionModel

    script = copy.deepcopy(ANALYSES[name])

    def answer(request: ChatRequest) -> str:
        text = script.reply(request)
        if call_log:
            with open(call_log, "a", encoding="utf-8") as log:
                log.write(f"{request.schema_name}\n")
        return text

    return FunctionModel(answer, model=name, delay=delay)
