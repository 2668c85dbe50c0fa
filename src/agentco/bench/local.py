"""Local model speed: the results of ``bench/local_model.py`` (load, prompt and generation speed, prefix reuse).

That script lives in the checkout, not the package, and needs the ``local`` extra and the model
weights; here we only find it, run it when asked, and read what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentco.bench.report import repo_root, results_dir
from agentco.errors import ConfigError

RESULT_FILE = "local_model.json"


def script_path() -> Path | None:
    root = repo_root()
    candidates = [root / "bench" / "local_model.py"] if root else []
    candidates.append(Path.cwd() / "bench" / "local_model.py")
    return next((p for p in candidates if p.is_file()), None)


def read_results(path: Path | None = None) -> dict[str, Any] | None:
    path = path or results_dir() / RESULT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def run_local_bench(models: str | None = None, output: Path | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run the local model benchmark in its own process (it loads gigabytes; this one stays small)."""
    from agentco.llm.local import MODELS

    names = [n.strip() for n in (models or "").split(",") if n.strip()]
    if unknown := [n for n in names if n not in MODELS]:
        raise ConfigError(f"no local model {unknown[0]} (known: {', '.join(MODELS)})", key="--models")
    script = script_path()
    if script is None:
        raise ConfigError("bench/local_model.py is not in this checkout; the local model benchmark is unavailable")
    output = output or results_dir() / RESULT_FILE
    argv = [sys.executable, str(script), "--output", str(output)] + (["--models", models] if models else [])
    done = subprocess.run(argv, env=dict(os.environ), timeout=timeout, check=False)
    if done.returncode != 0:
        raise ConfigError(f"bench/local_model.py exited {done.returncode}; see its output above")
    results = read_results(output)
    assert results is not None, f"bench/local_model.py did not write {output}"
    return results


def local_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    columns = ["model", "load s", "prompt tok/s", "first token s", "gen tok/s", "2nd call cold s", "2nd call warm s"]
    rows = [
        [r["model"], r["load_s"], r["prompt_tok_s"], r["ttft_s"], r["gen_tok_s"], r["reuse_cold_ttft_s"],
         r["reuse_warm_ttft_s"]]
        for r in report.get("results", [])
    ]  # fmt: skip
    return table("local models", columns, rows)
