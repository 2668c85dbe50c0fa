"""How the parts of a valid scenario refer to each other: each problem is a (path, message) pair, so
the loader can name the line and the key it is about."""

from __future__ import annotations

import re
from collections.abc import Iterator

from agentco.scenario.schema import END, NAME, Condition, Scenario, StageSpec

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def problems(scenario: Scenario) -> Iterator[Problem]:
    yield from _roles(scenario)
    names = [stage.name for stage in scenario.stages]
    for i, stage in enumerate(scenario.stages):
        where: Path = ("stages", i)
        if names.index(stage.name) != i:
            yield (*where, "name"), f"a second stage named {stage.name!r}; stage names must differ"
        for j, speaker in enumerate(stage.speakers):
            if speaker not in scenario.roles:
                yield (*where, "speakers", j), f"no role {speaker!r} (roles: {', '.join(scenario.roles)})"
        if any(s not in scenario.roles for s in stage.speakers):
            continue
        yield from _aggregate(scenario, stage, where)
        if stage.until is not None:
            yield from _condition(scenario, stage, stage.until, (*where, "until"))
        for j, route in enumerate(stage.routes):
            yield from _route(scenario, i, j, names)
            if route.when is not None:
                yield from _condition(scenario, stage, route.when, (*where, "routes", j, "when"))
        if isinstance(stage.sees, list):
            for j, seen in enumerate(stage.sees):
                if seen not in names:
                    yield (*where, "sees", j), f"no stage {seen!r} (stages: {', '.join(names)})"
        yield from _template(scenario, stage.instruction, (*where, "instruction"))


def _roles(scenario: Scenario) -> Iterator[Problem]:
    for name, role in scenario.roles.items():
        if not re.fullmatch(NAME, name):
            yield ("roles", name), f"{name!r} is not a role name: lowercase letters, digits, _ and -"
        if role.human and role.output is not None:
            yield ("roles", name, "output"), "a human answers in words: a human role has no output fields"
        for field, spec in (role.output or {}).items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", field):
                yield ("roles", name, "output", field), f"{field!r} is not a field name: lowercase letters, digits, _"
            elif spec.values is not None and spec.type != "str":
                yield ("roles", name, "output", field, "type"), "a choice among values is of type str"


def _aggregate(scenario: Scenario, stage: StageSpec, where: Path) -> Iterator[Problem]:
    if stage.aggregate is None:
        return
    if stage.mode != "parallel":
        yield (*where, "aggregate"), "only a parallel stage aggregates its speakers' answers (mode: parallel)"
        return
    field = stage.aggregate.majority
    for speaker in stage.speakers:
        if field not in (scenario.roles[speaker].output or {}):
            yield (*where, "aggregate", "majority"), f"role {speaker!r} has no output field {field!r} to vote with"


def _condition(scenario: Scenario, stage: StageSpec, condition: Condition, where: Path) -> Iterator[Problem]:
    if condition.field is None:
        return
    fields = {f: spec for s in stage.speakers for f, spec in (scenario.roles[s].output or {}).items()}
    if condition.field not in fields:
        have = ", ".join(sorted(fields)) or "none: give a speaker `output` fields"
        yield (*where, "field"), f"no speaker of stage {stage.name!r} answers a field {condition.field!r} ({have})"
        return
    choices = fields[condition.field].values
    if condition.equals is not None and choices is not None and str(condition.equals) not in choices:
        yield (*where, "equals"), f"{condition.equals!r} is not one of {condition.field}'s values {choices}"


def _route(scenario: Scenario, i: int, j: int, names: list[str]) -> Iterator[Problem]:
    stage = scenario.stages[i]
    target = stage.routes[j].to
    where: Path = ("stages", i, "routes", j, "to")
    if target != END and target not in names:
        yield where, f"no stage {target!r} to route to (stages: {', '.join(names)}, or {END})"
    elif target != END and names.index(target) <= i and scenario.stage(target).max_visits == 1:
        yield (
            where,
            (
                f"routes back to stage {target!r}, which may be entered once: give {target!r} a max_visits "
                "above 1 to bound the loop"
            ),
        )


def _template(scenario: Scenario, text: str, where: Path) -> Iterator[Problem]:
    import jinja2
    from jinja2 import meta

    try:
        used = meta.find_undeclared_variables(jinja2.Environment().parse(text))
    except jinja2.TemplateSyntaxError as exc:
        yield where, f"not a valid template: {exc.message}"
        return
    for name in sorted(used - set(scenario.inputs)):
        yield where, f"uses {{{{ {name} }}}}, which is not an input (inputs: {', '.join(scenario.inputs) or 'none'})"
