"""What ``agentco`` can run, in one table of lazy names: the YAML scenarios shipped in the package
and the software company, whose pipeline is Python. Nothing is loaded until it is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentco.errors import ConfigError
from agentco.scenario.schema import Scenario

BUILTIN = Path(__file__).parent / "builtin"

# name -> a scenario file of the package ("builtin/NAME.yaml") or "module:function" of a Python pipeline
RUNNABLE: dict[str, str] = {
    "company": "agentco.company.run:run_company",
    "debate": "builtin/debate.yaml",
    "service-desk": "builtin/service-desk.yaml",
    "interview": "builtin/interview.yaml",
    "question-bank": "builtin/question-bank.yaml",
    "cross-check": "builtin/cross-check.yaml",
    "news-desk": "builtin/news-desk.yaml",
}
PYTHON_PIPELINES = {
    "company": 'the software company: PRD, design, tasks, code and tests from one idea (agentco run "IDEA")',
}


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    """``scenario`` (a YAML file) or ``pipeline`` (Python)."""
    description: str
    target: str


def entries() -> list[Entry]:
    found = []
    for name, target in RUNNABLE.items():
        if name in PYTHON_PIPELINES:
            found.append(Entry(name, "pipeline", PYTHON_PIPELINES[name], target))
        else:
            found.append(Entry(name, "scenario", load(name).description, str(Path(__file__).parent / target)))
    return found


def load(name_or_file: str) -> Scenario:
    """The scenario a built-in name or a file path names; ``ConfigError`` for neither (or a pipeline)."""
    from agentco.scenario.loading import load_scenario

    if name_or_file in PYTHON_PIPELINES:
        raise ConfigError(f"{name_or_file!r} is {PYTHON_PIPELINES[name_or_file]}, not a scenario")
    if name_or_file in RUNNABLE:
        return load_scenario(Path(__file__).parent / RUNNABLE[name_or_file])
    path = Path(name_or_file).expanduser()
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise ConfigError(f"no scenario file {path}")
        return load_scenario(path)
    import difflib

    close = difflib.get_close_matches(name_or_file, list(RUNNABLE), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"no scenario {name_or_file!r}{hint} (built in: {', '.join(RUNNABLE)}; or a .yaml file)")


def source(name_or_file: str) -> Path:
    """The file a scenario is read from."""
    return Path(__file__).parent / RUNNABLE[name_or_file] if name_or_file in RUNNABLE else Path(name_or_file)
