"""Mending a test plan before it is validated: a check that is broken by itself is dropped from a
group that keeps a valid one, with a note. Fewer checks beat none: a 1.5B model wrapped a few of its
checks in ``try: ... raise`` and the whole plan, valid checks and all, was refused twice."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agentco.lang.python.test_plan import ValueCheck


def drop_broken_checks(data: Any, notes: list[str]) -> Any:
    """``data`` without the value checks that do not validate on their own, in the groups where some
    do; a group with no valid check is left as it is, so the model hears what is wrong with it."""
    groups = data.get("value_checks") if isinstance(data, dict) else None
    if not isinstance(groups, dict):
        return data
    for name, checks in groups.items():
        if not isinstance(checks, list):
            continue
        good = [check for check in checks if _valid(check)]
        if good and len(good) < len(checks):
            groups[name] = good
            notes.append(f"test plan: dropped {len(checks) - len(good)} of the {len(checks)} checks of {name}, "
                         "which were not valid")  # fmt: skip
    return data


def _valid(check: Any) -> bool:
    try:
        ValueCheck.model_validate(check)
    except ValidationError:
        return False
    return True
