"""Speed of the embedded models on this machine: load, prompt, generation, first token, prefix reuse.

    python bench/local_model.py [--models qwen2.5-coder-0.5b,qwen2.5-coder-1.5b] [--gen-tokens 128]

The prefix-reuse pair is what a team round looks like: a long shared system prompt plus a design
document, then two different final questions. The second question's time to first token on the
instance that just answered the first (warm KV cache) is compared with a freshly loaded instance.
Writes bench/results/local_model.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from agentco.config import LLMSettings
from agentco.llm.base import ChatRequest
from agentco.llm.local import MODELS, default_models_dir, pull, resolve
from agentco.llm.local.provider import LocalProvider, load_model, unload_all

RESULTS = Path(__file__).parent / "results" / "local_model.json"

SYSTEM = (
    "You are the architect of a small software company. You write precise, implementable designs, "
    "answer in plain language, and never invent requirements that are not in the documents you are given."
)

MODULE = """\
## Module: {name}
Responsibility: {name} owns the {noun} records of the todo service and nothing else.
Data: a SQLite table `{noun}s` (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, title TEXT NOT NULL,
created_at TEXT NOT NULL, updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0).
API: `create_{noun}(owner_id, title) -> {Noun}`, `get_{noun}(id) -> {Noun} | None`,
`list_{noun}s(owner_id, *, include_archived=False) -> list[{Noun}]`, `archive_{noun}(id) -> None`.
Rules: titles are 1-200 characters after stripping; an archived {noun} cannot be edited; every write
updates `updated_at`; listing is ordered by `created_at` descending. Errors raise `{Noun}Error` with a
message meant for the end user. Tests cover each rule with a real temporary database.
"""

NOUNS = ["task", "project", "label", "comment", "reminder", "attachment", "team", "invite"]
DOCUMENT = "# Design: the todo service\n\n" + "\n".join(
    MODULE.format(name=f"{noun}s", noun=noun, Noun=noun.capitalize()) for noun in NOUNS
)
QUESTIONS = (
    "Write the Python module for reminders as specified, with docstrings and type hints.",
    "Write the SQL CREATE TABLE statement for the attachments table.",
)


@dataclass
class Result:
    model: str
    load_s: float
    prompt_tokens: int
    prompt_tok_s: float
    ttft_s: float
    gen_tokens: int
    gen_tok_s: float
    reuse_cold_ttft_s: float
    reuse_warm_ttft_s: float
    reused_tokens: int
    reuse_speedup: float
    other_cpu_share: float | None = None
    """Share of the machine's CPU time that other processes used during this row; over ~0.1 skews it."""


def request(question: str, max_tokens: int) -> ChatRequest:
    messages = [
        {"role": "system", "content": SYSTEM + "\n\n" + DOCUMENT},
        {"role": "user", "content": question},
    ]
    return ChatRequest(messages=messages, max_tokens=max_tokens, temperature=0.2)


async def timed(provider: LocalProvider, req: ChatRequest) -> tuple[float, float, int, int, int]:
    """(time to first token, total time, prompt tokens, reused tokens, completion tokens)."""
    first: list[float] = []
    start = time.perf_counter()
    completion = await provider.complete(req, lambda text: first or first.append(time.perf_counter()))
    total = time.perf_counter() - start
    stats = provider.ensure_ready().llm.stats
    ttft = (first[0] if first else time.perf_counter()) - start
    return ttft, total, completion.usage.prompt_tokens, stats.reused, completion.usage.completion_tokens


def _cpu_snapshot() -> tuple[float, float, float] | None:
    """(machine busy seconds, machine total seconds, this process's CPU seconds), Linux only."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle, total = fields[3] + fields[4], sum(fields)
    own = os.times()
    return (total - idle) / hz, total / hz, own.user + own.system


def other_cpu_share(before: tuple[float, float, float] | None) -> float | None:
    after = _cpu_snapshot()
    if before is None or after is None or after[1] <= before[1]:
        return None
    others = (after[0] - before[0]) - (after[2] - before[2])
    return round(max(0.0, others) / (after[1] - before[1]), 2)


async def bench(name: str, n_ctx: int, gen_tokens: int) -> Result:
    cpu_before = _cpu_snapshot()
    path = resolve(name, default_models_dir())
    settings = LLMSettings(context_length=n_ctx)

    unload_all()
    start = time.perf_counter()
    load_model(path, n_ctx)
    load_s = time.perf_counter() - start

    provider = LocalProvider(name, settings)
    ttft, total, prompt_tokens, _, completion_tokens = await timed(provider, request(QUESTIONS[0], gen_tokens))
    gen_s = total - ttft
    warm_ttft, _, _, reused, _ = await timed(provider, request(QUESTIONS[1], 8))

    unload_all()
    cold = LocalProvider(name, settings)
    cold.ensure_ready()
    cold_ttft, *_ = await timed(cold, request(QUESTIONS[1], 8))

    return Result(
        model=name,
        load_s=round(load_s, 2),
        prompt_tokens=prompt_tokens,
        prompt_tok_s=round(prompt_tokens / ttft, 1),
        ttft_s=round(ttft, 2),
        gen_tokens=completion_tokens,
        gen_tok_s=round((completion_tokens - 1) / gen_s, 1) if gen_s > 0 else 0.0,
        reuse_cold_ttft_s=round(cold_ttft, 2),
        reuse_warm_ttft_s=round(warm_ttft, 2),
        reused_tokens=reused,
        reuse_speedup=round(cold_ttft / warm_ttft, 1),
        other_cpu_share=other_cpu_share(cpu_before),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(reversed(MODELS)), help="comma-separated model names")
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--gen-tokens", type=int, default=128)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for name in names:
        pull(name, default_models_dir())
    results = [asyncio.run(bench(name, args.n_ctx, args.gen_tokens)) for name in names]

    from importlib.metadata import version

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"local models, {os.cpu_count()} CPU threads, n_ctx {args.n_ctx}")
    headers = {
        "model": "model",
        "load_s": "load s",
        "prompt_tok_s": "prompt tok/s",
        "ttft_s": "first token s",
        "gen_tok_s": "gen tok/s",
        "reuse_cold_ttft_s": "2nd call cold s",
        "reuse_warm_ttft_s": "2nd call warm s",
        "reuse_speedup": "prefix speed-up",
        "other_cpu_share": "other CPU",
    }
    for header in headers.values():
        table.add_column(header, justify="right")
    for r in results:
        row = asdict(r)
        table.add_row(*(f"{row[k]}x" if k == "reuse_speedup" else str(row[k]) for k in headers))
    Console(width=140).print(table)
    print(f"prompt: {results[0].prompt_tokens} tokens; the warm call reused {results[0].reused_tokens} of them")
    for r in results:
        if r.other_cpu_share and r.other_cpu_share > 0.1:
            print(f"warning: other processes used {r.other_cpu_share:.0%} of the CPU during {r.model}; rerun when idle")

    # Rows are merged by model, so benchmarking one model keeps the other's last figures.
    args.output.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.output.read_text(encoding="utf-8")) if args.output.exists() else {}
    rows = {row["model"]: row for row in previous.get("results", []) if isinstance(row, dict) and "model" in row}
    measured_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for r in results:
        rows[r.model] = {**asdict(r), "n_ctx": args.n_ctx, "measured_at": measured_at}
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "llama_cpp_python": version("llama-cpp-python"),
        "results": [rows[name] for name in MODELS if name in rows] + [v for k, v in rows.items() if k not in MODELS],
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
