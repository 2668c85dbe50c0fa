"""The Data Interpreter with the scripted analyst (``fake:sales``) and a real kernel in the sandbox:
state carried between cells, charts as files, a valid notebook, the fix loop, cells past their time
limit, a kill and a resume, and a kernel that can neither reach the network nor write outside its folder."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentco.config import DiSettings, LLMSettings, Settings
from agentco.di.environment import ensure_environment, python_of
from agentco.di.kernel import SandboxKernel
from agentco.events import CELL
from agentco.runtime import DiRequest, start_run
from agentco.sandbox import is_available
from agentco.testing.analyst import ANALYSES, SALES, SALES_CSV, AnalysisScript

pytestmark = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
ENV_DIR = Path.home() / ".cache" / "agentco" / "envs"
REQUEST = "Which region of data/sales.csv grew fastest? Plot monthly revenue. Answer as @fastest_region[name]."


@pytest.fixture(scope="session")
def ds_python() -> Path:
    """The data-science environment (created once per machine; minutes the first time)."""
    return python_of(ensure_environment(ENV_DIR))


@pytest.fixture
def asked(monkeypatch) -> list:
    """Every request the scripted analyst is asked, in order."""
    from agentco.testing import analyst

    requests, reply = [], analyst.AnalysisScript.reply

    def spy(self, request):
        requests.append(request)
        return reply(self, request)

    monkeypatch.setattr(analyst.AnalysisScript, "reply", spy)
    return requests


def settings(tmp_path: Path, model: str = "fake:sales", **di: object) -> Settings:
    return Settings(llm=LLMSettings(model=model), workspace=tmp_path / "ws", di=DiSettings(env_dir=ENV_DIR, **di))


def sales_file(tmp_path: Path) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text(SALES_CSV)
    return path


def run(tmp_path: Path, *, model: str = "fake:sales", events=(), **di: object):
    request = DiRequest.build(idea=REQUEST, data=[str(sales_file(tmp_path))], project_name="sales")
    return asyncio.run(start_run(settings(tmp_path, model, **di), request, events=events))


def test_a_three_task_plan_runs_in_one_kernel_and_leaves_notebook_charts_and_answer(tmp_path, ds_python):
    import nbformat

    cells = []
    outcome = run(tmp_path, events=[lambda e: cells.append(e.data) if e.kind == CELL else None])
    folder = tmp_path / "ws" / "sales"
    assert outcome.status == "answered" and outcome.project == folder
    # task 2's first version used an undefined name; the fix (second attempt) used task 1's df
    assert [(c["task"], c["attempt"], c["status"]) for c in cells] == [
        ("1", 1, "ok"), ("2", 1, "error"), ("2", 2, "ok"), ("3", 1, "ok")]  # fmt: skip
    assert "NameError" in cells[1]["shown"] and "dff" in cells[1]["shown"]
    assert "fastest: east (+9.0 a month)" in cells[2]["shown"]
    nb = nbformat.read(folder / "notebook.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 4 and all(c.outputs for c in code)
    charts = sorted(p.name for p in (folder / "charts").iterdir())
    assert charts == ["task-3-1-1.png"] and (folder / "charts" / charts[0]).read_bytes().startswith(b"\x89PNG")
    answer = json.loads((folder / "answer.json").read_text())
    assert answer["values"] == {"fastest_region": "east"} and answer["status"] == "answered"
    report = (folder / "report.md").read_text()
    assert "![charts/task-3-1-1.png](charts/task-3-1-1.png)" in report and "@fastest_region[east]" in report
    log = subprocess.run(["git", "log", "--format=%s"], cwd=folder, capture_output=True, text=True).stdout
    assert [line.split(":")[0] for line in log.splitlines()[::-1][:3]] == [
        "Task 1 (done)",
        "Task 2 (done)",
        "Task 3 (done)",
    ]
    assert (folder / "data" / "sales.csv").read_text() == SALES_CSV


def test_the_fix_prompt_carries_the_error_the_failing_line_and_the_kernel_names(tmp_path, ds_python, asked):
    run(tmp_path)
    fix = next(r for r in asked if r.schema_name == "fix 2")
    prompt = fix.messages[-1]["content"]
    assert "NameError: name 'dff' is not defined" in prompt
    assert "The failing line of the cell: slopes = dff.groupby" in prompt
    assert "df: DataFrame" in prompt and "pd: module" in prompt


def test_a_rewrite_identical_to_the_failed_cell_is_refused_before_it_runs(tmp_path, ds_python, monkeypatch):
    stuck = AnalysisScript(
        plan=[{"id": "1", "instruction": "Print an undefined name", "type": "analyse"}],
        cells={"1": ["print(undefined_name)\n"]},  # every version the same
        answer="No answer.",
    )
    monkeypatch.setitem(ANALYSES, "stuck", stuck)
    cells = []
    outcome = run(tmp_path, model="fake:stuck", replans=0,
                  events=[lambda e: cells.append(e.data) if e.kind == CELL else None])  # fmt: skip
    assert outcome.status == "failed"
    assert len(cells) == 1  # the same code was never run twice
    assert any("fix 1" in note and "no usable answer" in note for note in outcome.notes)


def test_an_endless_cell_is_interrupted_at_its_limit_and_the_kernel_goes_on(tmp_path, ds_python, monkeypatch):
    looping = AnalysisScript(
        plan=[
            {"id": "1", "instruction": "Load the data", "type": "load"},
            {"id": "2", "instruction": "Loop", "type": "analyse"},
        ],
        cells={
            "1": ['import pandas as pd\ndf = pd.read_csv("data/sales.csv")\n'],
            "2": ["while True:\n    pass\n", "print(len(df))\n"],
        },  # fmt: skip
        answer="18 rows.",
    )
    monkeypatch.setitem(ANALYSES, "looping", looping)
    cells = []
    started = time.monotonic()
    outcome = run(tmp_path, model="fake:looping", cell_timeout=3,
                  events=[lambda e: cells.append(e.data) if e.kind == CELL else None])  # fmt: skip
    assert [c["status"] for c in cells] == ["ok", "timeout", "ok"]
    assert "ran past its limit of 3 s" in cells[1]["shown"]
    assert cells[2]["shown"].strip() == "18"  # df from the first cell survived the interrupt
    assert outcome.status == "answered" and time.monotonic() - started < 120


def test_a_dead_kernel_is_restarted_and_the_good_cells_replayed(tmp_path, ds_python):
    folder = tmp_path / "k"
    folder.mkdir()
    with SandboxKernel(folder, ds_python, read_only=()) as kernel:
        assert kernel.execute("x = 41", timeout=30).ok
        died = kernel.execute("import os\nos._exit(3)", timeout=30)
        assert died.status == "died" and died.restarted and kernel.starts == 2
        assert kernel.execute("print(x)", timeout=30).status == "error"  # state gone until replayed
        assert (
            kernel.execute("x = 41", timeout=30).ok
            and "42" in kernel.execute("print(x + 1)", timeout=30).outputs[0]["text"]
        )


def test_the_kernel_cannot_reach_the_network_or_write_outside_its_folder(tmp_path, ds_python, monkeypatch):
    monkeypatch.setenv("AGENTCO_TEST_API_KEY", "sk-not-for-the-kernel")
    folder, outside = tmp_path / "k", tmp_path / "elsewhere" / "marker.txt"
    folder.mkdir()
    outside.parent.mkdir()  # a real folder on the host, beside the kernel's
    code = f"""
import socket, pathlib
results = []
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3); results.append("net: open")
except OSError as exc:
    results.append("net: blocked")
for target in [{str(outside)!r}, {str(Path.home() / "agentco-marker")!r}]:
    try:
        pathlib.Path(target).write_text("escaped"); results.append("write: open")
    except OSError:
        results.append("write: blocked")
print(results)
"""
    with SandboxKernel(folder, ds_python, read_only=()) as kernel:
        run_ = kernel.execute(code, timeout=30)
        env = kernel.execute(
            "import os; print(sorted(k for k in os.environ if 'KEY' in k or 'TOKEN' in k))", timeout=30
        )
    assert run_.ok, run_.outputs
    assert run_.outputs[0]["text"].strip() == "['net: blocked', 'write: blocked', 'write: blocked']"
    assert not outside.exists() and not (Path.home() / "agentco-marker").exists()
    assert env.outputs[0]["text"].strip() == "[]"


def test_a_killed_run_resumes_with_recorded_cells_replayed_and_no_repeated_call(tmp_path, ds_python):
    data = sales_file(tmp_path)
    calls = tmp_path / "calls.log"
    env = {**os.environ, "AGENTCO_FAKE_CALL_LOG": str(calls), "AGENTCO_DI__ENV_DIR": str(ENV_DIR)}
    argv = [sys.executable, "-m", "agentco", "di", REQUEST, "--data", str(data), "--model", "fake:sales?delay=1.5",
            "--workspace", "ws", "--project-name", "sales", "-q"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180  # the first call waits for the kernel's environment
    while not (calls.exists() and "cell 2" in calls.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, (
            proc.stderr.read() if proc.poll() is not None else ""
        )
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = calls.read_text().splitlines()
    import sqlite3

    with sqlite3.connect(tmp_path / "ws" / ".agentco" / "runs.db") as db:
        (run_id,) = db.execute("SELECT id FROM runs").fetchone()
    done = subprocess.run([sys.executable, "-m", "agentco", "resume", run_id, "--workspace", "ws", "-q"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = calls.read_text().splitlines()[len(before) :]
    assert not set(after) & set(before[:-1])  # only the call the kill interrupted may be asked again
    assert json.loads((tmp_path / "ws" / "sales" / "answer.json").read_text())["values"] == {"fastest_region": "east"}
    import nbformat

    nb = nbformat.read(tmp_path / "ws" / "sales" / "notebook.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code[0] == SALES.cells["1"][0] and len(code) == 4  # the recorded cells, run again, once each


def test_bad_requests_are_clear_errors(tmp_path):
    from cli_probe import agentco, clear, snapshot

    before = snapshot(tmp_path)
    for argv, words in [
        (["di", ""], "say what to find out"),
        (["di", "mean of x", "--data", "gone.csv", "--model", "fake:sales", "--workspace", "ws"], "no data file"),
        (["di", "mean of x", "--max-steps", "0"], "--max-steps"),
    ]:
        done = agentco(*argv, cwd=tmp_path)
        assert done.returncode == 2 and words in clear(done), done.stderr
    assert snapshot(tmp_path) == before


def test_the_plan_goes_through_the_review_gate(tmp_path, ds_python, asked):
    """Feedback asks for a new plan (the feedback is in its prompt); an edit replaces the plan."""
    from agentco.core.message import Message
    from agentco.core.review import Verdict

    class Scripted:
        def __init__(self):
            self.seen = []

        async def review(self, message):
            self.seen.append(message.content)
            if len(self.seen) == 1:
                return Verdict.reject("skip the chart")
            return Verdict.edit(Message("1. [load] Load data/sales.csv into df\n2. [analyse] Find the fastest region"))

    reviewer = Scripted()
    request = DiRequest.build(idea=REQUEST, data=[str(sales_file(tmp_path))], project_name="sales", review=["plan"])
    outcome = asyncio.run(start_run(settings(tmp_path), request, reviewer=reviewer))
    assert len(reviewer.seen) == 2 and "[plot] Plot monthly revenue" in reviewer.seen[0]
    plans = [r for r in asked if r.schema_name == "plan"]
    assert len(plans) == 2 and "skip the chart" in plans[1].messages[-1]["content"]
    assert outcome.status == "answered" and not (tmp_path / "ws" / "sales" / "charts").exists()
    assert "Find the fastest region" in (tmp_path / "ws" / "sales" / "report.md").read_text()


def test_confirm_takes_an_edited_plan_from_an_answers_file(tmp_path, ds_python):
    data = sales_file(tmp_path)
    plan = {"tasks": [{"id": "1", "instruction": "Load data/sales.csv into df", "type": "load"},
                      {"id": "2", "instruction": "Find the fastest region", "type": "analyse"}]}  # fmt: skip
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "answers.txt").write_text("edit: plan.json\n")
    env = {**os.environ, "AGENTCO_DI__ENV_DIR": str(ENV_DIR)}
    done = subprocess.run(
        [sys.executable, "-m", "agentco", "di", REQUEST, "--data", str(data), "--model", "fake:sales", "--workspace",
         "ws", "--project-name", "sales", "--confirm", "--review-answers", "answers.txt", "--json"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "review of the plan: edit" in done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "answered" and outcome["cells"] == 3  # task 2 took a fix; no plot task


def test_an_answer_value_no_cell_printed_is_flagged():
    from agentco.di.notebook import unsupported

    printed = "mean: 3.71428\nregion: east\n@count[18]"
    assert unsupported("@mean[3.714] @region[east] @count[18]", printed) == []
    assert unsupported("@mean[3.715] @region[west] @count[18.0]", printed) == ["mean", "region"]
    assert unsupported("@mean[5]", printed) == ["mean"] and unsupported("@mean[4]", printed) == []  # 3.71 rounds to 4


def test_a_key_error_for_a_column_under_a_near_name_names_the_column_as_it_is(tmp_path, ds_python, asked, monkeypatch):
    spaced = AnalysisScript(
        plan=[{"id": "1", "instruction": "Print the mean wind speed", "type": "analyse"}],
        cells={
            "1": [
                "import pandas as pd\ndf = pd.DataFrame({' WINDSPEED': [1.0, 3.0]})\nprint(df['windspeed'].mean())\n",
                "print(df[' WINDSPEED'].mean())\n",
            ]
        },  # fmt: skip
        answer="The mean is 2.0.",
    )
    monkeypatch.setitem(ANALYSES, "spaced", spaced)
    outcome = run(tmp_path, model="fake:spaced")
    fix = next(r for r in asked if r.schema_name == "fix 1").messages[-1]["content"]
    assert "KeyError: 'windspeed'" in fix
    assert "Hint: df has no column 'windspeed'; it has ' WINDSPEED'" in fix
    assert outcome.status == "answered"


def test_an_answer_value_written_into_the_code_goes_back_to_be_computed(tmp_path, ds_python, asked, monkeypatch):
    typed = AnalysisScript(
        plan=[{"id": "1", "instruction": "Find the fastest region and print the answer line", "type": "answer"}],
        cells={
            "1": [
                'print("@fastest_region[name]")\n',  # the format's placeholder, copied
                'import pandas as pd\ndf = pd.read_csv("data/sales.csv")\n'
                's = df.groupby("region")["revenue"].apply(lambda s: s.diff().mean())\n'
                'print(f"@fastest_region[{s.idxmax()}]")\n',
            ]
        },  # fmt: skip
        answer="never asked",
    )
    monkeypatch.setitem(ANALYSES, "typed", typed)
    outcome = run(tmp_path, model="fake:typed")
    fix = next(r for r in asked if r.schema_name == "fix 1").messages[-1]["content"]
    assert "@fastest_region[name]" in fix and "written into the code as text" in fix
    assert outcome.answer == "@fastest_region[east]"
    assert [r.schema_name for r in asked] == ["plan", "cell 1", "fix 1"]  # the printed line is the answer


def test_the_answering_task_that_prints_no_answer_line_goes_back(tmp_path, ds_python, asked, monkeypatch):
    silent = AnalysisScript(
        plan=[{"id": "1", "instruction": "Print the answer", "type": "answer"}],
        cells={
            "1": ['print("@region[east]".replace("@region", "@fastest"))\n', 'print("@fastest_region[" + "east]")\n']
        },
        answer="never asked",
    )
    monkeypatch.setitem(ANALYSES, "silent", silent)
    run(tmp_path, model="fake:silent")
    fix = next(r for r in asked if r.schema_name == "fix 1").messages[-1]["content"]
    assert "printed no line for @fastest_region (it printed @fastest" in fix


def test_a_run_stops_fixing_at_its_model_call_limit_and_still_answers(tmp_path, ds_python, asked, monkeypatch):
    failing = AnalysisScript(
        plan=[
            {"id": "1", "instruction": "Fail", "type": "analyse"},
            {"id": "2", "instruction": "Fail", "type": "analyse"},
        ],
        cells={"1": [f"raise ValueError({n})\n" for n in range(20)], "2": ["print(2)\n"]},
        answer="Nothing could be computed.",
    )
    monkeypatch.setitem(ANALYSES, "failing", failing)
    outcome = run(tmp_path, model="fake:failing", max_calls=4, fix_attempts=10, replans=3)
    assert [r.schema_name for r in asked] == ["plan", "cell 1", "fix 1", "fix 1", "answer"]
    assert any("(di.max_calls)" in note and "no more fixes" in note for note in outcome.notes)
    assert outcome.answer == "Nothing could be computed." and outcome.status == "failed"


def test_a_column_named_without_its_surrounding_spaces_is_respelled_by_the_program(
    tmp_path, ds_python, asked, monkeypatch
):
    from agentco.di.checks import respelled

    hints = [{"table": "df", "key": "WINDSPEED", "columns": [" WINDSPEED"]}]
    code = "x = df['WINDSPEED'].mean()\nprint(f\"{x} WINDSPEED\", 'WINDSPEED')\ny = df[\"WINDSPEED\"]\n"
    assert respelled(code, hints) == (
        "x = df[' WINDSPEED'].mean()\nprint(f\"{x} WINDSPEED\", ' WINDSPEED')\ny = df[' WINDSPEED']\n"
    )
    assert (
        respelled(code, [{"table": "df", "key": "windspeed", "columns": ["WINDSPEED"]}]) is None
    )  # case: the model's call

    spaced = AnalysisScript(
        plan=[{"id": "1", "instruction": "Print the mean wind speed", "type": "analyse"}],
        cells={
            "1": ["import pandas as pd\ndf = pd.DataFrame({' WINDSPEED': [1.0, 3.0]})\nprint(df['WINDSPEED'].mean())\n"]
        },
        answer="The mean is 2.0.",
    )
    monkeypatch.setitem(ANALYSES, "spaced", spaced)
    outcome = run(tmp_path, model="fake:spaced")
    assert [r.schema_name for r in asked] == ["plan", "cell 1", "answer"]  # no model call for the fix
    assert outcome.status == "answered"
    assert any("used ' WINDSPEED'" in note for note in outcome.notes)


def test_answer_lines_typed_into_every_attempt_are_never_the_answer(tmp_path, ds_python, asked, monkeypatch):
    typed = AnalysisScript(
        plan=[{"id": "1", "instruction": "Print the answer line", "type": "answer"}],
        cells={"1": [f'print("@fastest_region[{guess}]")\n' for guess in ("name", "north", "east")]},
        answer="The cells did not compute it.",
    )
    monkeypatch.setitem(ANALYSES, "typed_always", typed)
    outcome = run(tmp_path, model="fake:typed_always")
    assert [r.schema_name for r in asked] == ["plan", "cell 1", "fix 1", "fix 1", "answer"]
    assert outcome.answer == "The cells did not compute it."
