"""What agentco itself costs, with the model taken out: start-up, per call, per message, memory, resume.

Import and ``--help`` times are taken in fresh processes (median of several); per-call and
per-message costs use fake models that answer at once, so everything measured is ours.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentco.core.action import Action
from agentco.core.environment import Environment
from agentco.core.message import Message
from agentco.core.role import Role
from agentco.core.team import Team
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.meter import Meter
from agentco.llm.structured import JsonOutput, TextOutput, generate

HEAVY_MODULES = ("openai", "anthropic", "llama_cpp", "jinja2", "pydantic", "yaml", "genai_prices", "rich")
_IMPORT_PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(json.dumps({{"s": elapsed, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""
# Runs the company in this child process and reports the child's own peak memory.
_RUN_PROBE = """
import json, resource, sys
from agentco.cli.app import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(sys.argv[1], "w") as out:
    json.dump({"exit": code, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, out)
"""


def _median_s(samples: list[float]) -> float:
    return round(statistics.median(samples), 4)


def import_time(module: str, repeat: int = 5) -> dict[str, Any]:
    samples, loaded = [], []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE.format(module=module, heavy=HEAVY_MODULES)],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(done.stdout)
        samples.append(data["s"])
        loaded = data["loaded"]
    return {"median_s": _median_s(samples), "samples_s": [round(s, 4) for s in samples], "heavy_modules": loaded}


def command_time(argv: list[str], repeat: int = 5) -> dict[str, Any]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return {"median_s": _median_s(samples), "samples_s": [round(s, 4) for s in samples]}


def agentco_argv() -> list[str]:
    script = shutil.which("agentco")
    return [script] if script else [sys.executable, "-m", "agentco"]


# --- per model call --------------------------------------------------------------------------
class _Answer(BaseModel):
    title: str
    points: list[str]
    score: float


_ANSWER = _Answer(title="a title", points=["one", "two", "three"], score=0.5).model_dump_json()


async def _calls(calls: int, spec: Any, reply: str) -> float:
    client = LLMClient(FunctionModel(lambda request: reply), Meter())
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "x" * 2000}]
    start = time.perf_counter()
    for _ in range(calls):
        await generate(client, messages, spec)
    return time.perf_counter() - start


def per_call_overhead(calls: int = 2000) -> dict[str, Any]:
    """Microseconds of our own code per model call: LLMClient (key, budget, meter) plus structured output."""
    text_s = asyncio.run(_calls(calls, TextOutput(name="text"), "def f():\n    return 1\n"))
    json_s = asyncio.run(_calls(calls, JsonOutput(_Answer), _ANSWER))
    return {
        "calls": calls,
        "text_us_per_call": round(text_s / calls * 1e6, 1),
        "json_us_per_call": round(json_s / calls * 1e6, 1),
    }


# --- messages through the team ---------------------------------------------------------------
def _relay_team(chains: int) -> Team:
    """``chains`` independent ping-pong pairs; each role answers the other through the model."""
    client = LLMClient(FunctionModel(lambda request: "ok"), Meter())
    team = Team(client)
    for i in range(chains):
        ping, pong = f"Ping{i}", f"Pong{i}"
        team.hire(
            Role(f"ping{i}", "relay", actions=[Action(ping, "bench/relay.j2")], watch={"UserRequirement", pong}),
            Role(f"pong{i}", "relay", actions=[Action(pong, "bench/relay.j2")], watch={ping}),
        )
    return team


def team_throughput(rounds: int = 200, chains: int = 4) -> dict[str, Any]:
    team = _relay_team(chains)
    start = time.perf_counter()
    history = asyncio.run(team.run("start", n_round=rounds))
    elapsed = time.perf_counter() - start
    env = Environment()
    sink = Role("sink", "listener", watch={"Note"})
    env.add_roles(sink, *(Role(f"bystander{i}", "listener", watch={"Other"}) for i in range(8)))
    notes = 20000
    start = time.perf_counter()
    for i in range(notes):
        env.publish(Message(str(i), sent_from="bench", cause_by="Note"))
    bus_s = time.perf_counter() - start
    return {
        "team_messages": len(history) - 1,
        "team_rounds": team.rounds_run,
        "team_messages_per_s": round((len(history) - 1) / elapsed, 1),
        "bus_messages_per_s": round(notes / bus_s, 1),
    }


# --- a whole scripted run: memory and resume -------------------------------------------------
def scripted_run(script: str = "roman") -> dict[str, Any]:
    """Peak memory of a whole ``fake:`` company run in its own process, then the time to replay it."""
    from agentco.store import RunStore

    with tempfile.TemporaryDirectory(prefix="agentco-overhead-") as tmp:
        workspace, probe = Path(tmp) / "ws", Path(tmp) / "rss.json"
        argv = [sys.executable, "-c", _RUN_PROBE, str(probe), "run", f"a {script} project", "--project-name", script]
        argv += ["--workspace", str(workspace), "-q", "--model", f"fake:{script}"]
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, env=dict(os.environ))
        run_s = time.perf_counter() - start
        measured = json.loads(probe.read_text()) if probe.is_file() else {"exit": None, "maxrss_kb": None}
        with RunStore.open(workspace) as store:
            run_id = store.list_runs()[0].id
        replay = [*agentco_argv(), "run", "--replay", run_id, "--workspace", str(workspace), "-q"]
        start = time.perf_counter()
        done = subprocess.run(replay, capture_output=True, text=True, check=False)
        replay_s = time.perf_counter() - start
    return {
        "model": f"fake:{script}",
        "run_exit": measured["exit"],
        "run_wall_s": round(run_s, 3),
        "peak_rss_mb": round(measured["maxrss_kb"] / 1024, 1) if measured["maxrss_kb"] else None,
        "replay_exit": done.returncode,
        "replay_wall_s": round(replay_s, 3),
    }


def run_overhead(*, repeat: int = 5, calls: int = 2000, rounds: int = 200) -> dict[str, Any]:
    return {
        "python_startup": command_time([sys.executable, "-c", "pass"], repeat),
        "import_agentco": import_time("agentco", repeat),
        "import_cli": import_time("agentco.cli.app", repeat),
        "help": command_time([*agentco_argv(), "--help"], repeat),
        "per_call": per_call_overhead(calls),
        "messages": team_throughput(rounds),
        "scripted_run": scripted_run(),
    }


def overhead_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    r = report
    heavy = ", ".join(r["import_cli"]["heavy_modules"]) or "none"
    rows = [
        ["python -c pass", f"{r['python_startup']['median_s'] * 1000:.0f} ms"],
        ["import agentco", f"{r['import_agentco']['median_s'] * 1000:.1f} ms"],
        ["import agentco.cli.app", f"{r['import_cli']['median_s'] * 1000:.1f} ms (loads: {heavy})"],
        ["agentco --help", f"{r['help']['median_s'] * 1000:.0f} ms"],
        ["per model call, text output", f"{r['per_call']['text_us_per_call']} µs"],
        ["per model call, JSON output", f"{r['per_call']['json_us_per_call']} µs"],
        ["team messages (model in the loop)", f"{r['messages']['team_messages_per_s']:,.0f} /s"],
        ["bus messages (publish only)", f"{r['messages']['bus_messages_per_s']:,.0f} /s"],
        ["scripted company run", f"{r['scripted_run']['run_wall_s']} s"],
        ["peak memory of that run", f"{r['scripted_run']['peak_rss_mb']} MB"],
        ["replaying that run", f"{r['scripted_run']['replay_wall_s']} s"],
    ]
    return table("framework overhead", ["what", "measured"], rows)
