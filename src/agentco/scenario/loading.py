"""Reading a scenario file: YAML whose every problem is reported with the file, the line and the key.

PyYAML's composed nodes keep each key's line, so a validation error's location (``stages.1.mode``)
is found again in the file to say where it is.
"""

from __future__ import annotations

import functools
import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agentco.errors import ConfigError
from agentco.scenario.checks import problems
from agentco.scenario.schema import Scenario


class ScenarioError(ConfigError):
    """A scenario file that cannot be used, with where the problem is."""

    def __init__(self, problem: str, *, file: str, line: int | None = None, key: str | None = None):
        self.file, self.line = file, line
        super().__init__(problem, source=f"{file}:{line}" if line else file, key=key)


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read it: {exc}", file=str(path)) from None
    return parse_scenario(text, str(path), default_name=path.stem)


def parse_scenario(text: str, file: str, *, default_name: str = "scenario") -> Scenario:
    import yaml

    loader = _loader()
    try:
        root = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=file, line=line) from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping: name, inputs, roles, stages, limits", file=file, line=1)
    data.setdefault("name", re.sub(r"[^a-z0-9_-]+", "-", default_name.lower()).strip("-_") or "scenario")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _located(exc, root, file) from None
    for where, problem in problems(scenario):
        line, key = _find(root, where)
        raise ScenarioError(problem, file=file, line=line, key=key)
    return scenario


@functools.cache
def _loader() -> Any:
    """PyYAML's safe loader with YAML 1.2's booleans: only true and false, so that a choice written
    ``[yes, no]`` stays two words."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    bool_tag = "tag:yaml.org,2002:bool"
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return Loader


def _located(exc: ValidationError, root: Any, file: str) -> ScenarioError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    problem = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        problem = f"not a key here{_did_you_mean(str(loc[-1]), known)} (keys: {', '.join(known)})"
    elif err["type"] == "missing":
        problem = f"missing: add {loc[-1]!r} here" if loc else problem
        loc = loc[:-1]
    line, key = _find(root, loc)
    if err["type"] == "missing":
        key = f"{key}.{err['loc'][-1]}" if key else str(err["loc"][-1])
    return ScenarioError(problem, file=file, line=line, key=key)


def _find(root: Any, loc: tuple[Any, ...]) -> tuple[int | None, str | None]:
    """The line of the deepest part of ``loc`` found in the file, and the key spelled out
    (``stages[verdict].routes[0].to``). Parts that are no key of the file (the member of a union
    pydantic tried) are skipped."""
    import yaml

    node, line, parts = root, (root.start_mark.line + 1 if root is not None else None), []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                continue
            line, node = found[0].start_mark.line + 1, found[1]
            parts.append(f".{part}" if parts else str(part))
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
            parts.append(f"[{_item_name(node) or part}]")
    return line, "".join(parts) or None


def _item_name(node: Any) -> str | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return next((v.value for k, v in node.value if k.value == "name" and isinstance(v, yaml.ScalarNode)), None)
    return None


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where ``loc`` points (a model's fields), following the schema's annotations."""
    kind: Any = Scenario
    for part in loc:
        model = _model_in(kind)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            kind = model.model_fields[part].annotation
        else:  # a key of a dict or an index of a list: the type of its values
            kind = _values_of(kind)
    model = _model_in(kind)
    return list(model.model_fields) if model is not None else []


def _values_of(kind: Any) -> Any:
    """``dict[str, X]``, ``list[X]``, ``list[X] | None`` -> X."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if len(args) == 1 and typing.get_args(args[0]):
        return _values_of(args[0])
    return args[-1] if args else None


def _model_in(kind: Any) -> type[BaseModel] | None:
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind
    return next((m for arg in typing.get_args(kind) if (m := _model_in(arg)) is not None), None)


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
