"""Mechanical repairs of a document the model wrote, applied before it is validated.

Only what has one right answer is repaired here, each with a note: lists and strings cut to the
schema's bounds, repeated list items dropped, missing fields that may be empty filled, a top-level
module dropped where a package of the same name is listed, and the files an entry point needs added.
What needs judgement still goes back to the model as a validation error.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

import annotated_types
from pydantic import BaseModel

from agentco.lang.base import EntryPoint

Normaliser = Callable[[Any], Any]


def bounded(model: type[BaseModel], notes: list[str]) -> Normaliser:
    """A normaliser fitting data to ``model``'s bounds (see ``fit``); notes go to ``notes``."""
    return lambda data: fit(model, data, notes)


def fit(model: type[BaseModel], data: Any, notes: list[str], where: str = "") -> Any:
    """``data`` with every list and string of ``model`` cut to its bounds, repeated strings dropped
    from lists, and missing fields that may be empty filled in."""
    if not isinstance(data, dict):
        return data
    for name, field in model.model_fields.items():
        if field.exclude or name.startswith("_"):
            continue
        path = f"{where}{name}"
        low, high = _bounds(field.metadata)
        annotation = _unwrap(field.annotation)
        if name not in data:
            empty = _empty(annotation, low, field.is_required())
            if empty is not None:
                data[name] = empty
                notes.append(f"{path} was missing; left empty")
            continue
        value = data[name]
        if isinstance(value, list):
            item = _item_model(annotation)
            if item is not None:
                value = [fit(item, entry, notes, f"{path}.") for entry in value]
            if all(isinstance(entry, str) for entry in value):
                unique = list(dict.fromkeys(value))
                if len(unique) < len(value) and len(unique) >= low:
                    notes.append(f"{path}: dropped {len(value) - len(unique)} repeated items")
                    value = unique
            if high is not None and len(value) > high:
                notes.append(f"{path}: kept the first {high} of {len(value)} items")
                value = value[:high]
            data[name] = value
        elif isinstance(value, str) and high is not None and len(value) > high:
            notes.append(f"{path}: cut to {high} characters")
            data[name] = value[:high]
        elif isinstance(value, dict) and (sub := _model_in(annotation)) is not None:
            data[name] = fit(sub, value, notes, f"{path}.")
    return data


def _bounds(metadata: list[Any]) -> tuple[int, int | None]:
    low, high = 0, None
    for item in metadata:
        if isinstance(item, annotated_types.MinLen):
            low = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            high = item.max_length
    return low, high


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list and (args := typing.get_args(annotation)):
        return _model_in(args[0])
    return None


def _empty(annotation: Any, low: int, required: bool) -> Any:
    """The empty value of a required field that may be empty (a string or list without a minimum), else None."""
    if not required or low > 0:
        return None
    if annotation is str:
        return ""
    if typing.get_origin(annotation) is list:
        return []
    return None


def prd_normaliser(model: type[BaseModel], named: Sequence[EntryPoint], notes: list[str]) -> Normaliser:
    """Fit a PRD to its bounds; when the requirement names its own entry points (``named``), an entry
    point the PRD adds under another name is dropped: the requirement's words win. The 1.5B model
    listed the program `python` for ini2json's `python -m ini2json` (on 841f46e), and the design
    then gained a `python.py` for it."""
    names = {entry.name for entry in named}
    kinds = {(entry.kind, entry.name) for entry in named}

    def normalise(data: Any) -> Any:
        data = fit(model, data, notes)
        listed = data.get("entry_points") if isinstance(data, dict) else None
        if names and isinstance(listed, list):
            # and under the requirement's own names, only the kinds it gives (roman on 6d6e5d2: the
            # PRD added a package roman to the requirement's module `roman.py`)
            kept = [e for e in listed if not isinstance(e, dict) or (e.get("kind"), e.get("name")) in kinds]
            for entry in listed:
                if entry not in kept:
                    why = "not as this kind" if entry.get("name") in names else "not at all"
                    notes.append(f"entry_points: dropped {entry.get('kind')} {entry.get('name')!r}, "
                                 f"which the requirement does not name ({why})")  # fmt: skip
            data["entry_points"] = kept
        return data

    return normalise


def design_normaliser(
    model: type[BaseModel],
    entry_points: Sequence[EntryPoint],
    notes: list[str],
    special_method: Callable[[str, str], str | None] = lambda entry, owner: None,
    functions: Sequence[str] = (),
    stray: Callable[[str], str | None] = lambda path: None,
) -> Normaliser:
    """Fit a design to its bounds, drop what is no source file (``stray``: path → why, or None), mend
    its file list against the entry points the requirement names, write a class's methods listed as
    the expression that calls them (``len(cache)``) as the language's special method
    (``special_method``: entry, class name → signature, or None), and list the requirement's
    ``functions`` that the design made methods as its module's functions."""

    def normalise(data: Any) -> Any:
        data = fit(model, data, notes)
        files = data.get("file_list") if isinstance(data, dict) else None
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            data["file_list"] = mend_files(_without_strays(files, stray, notes), entry_points, notes)
            _follow_moves(data)
        if isinstance(data, dict):
            _special_methods(data, special_method, notes)
            _functions_not_methods(data, functions, notes)
        return data

    return normalise


def _without_strays(files: list[str], stray: Callable[[str], str | None], notes: list[str]) -> list[str]:
    """The files that are source files (``stray`` says why one is not); all of them when none would be left."""
    why = {f: stray(f) for f in files}
    kept = [f for f in files if not why[f]]
    if kept:
        notes += [f"dropped {f} from the design: {why[f]}" for f in files if why[f]]
    return kept or files


def _functions_not_methods(data: dict[str, Any], functions: Sequence[str], notes: list[str]) -> None:
    """A class the design invents to hold functions the requirement calls by bare name (``functions``)
    is written in the design's form for a module of plain functions: named after its module. The
    1.5B model's design for intervals (841f46e and 532ff5a) made ``merge`` and ``free_slots``
    methods of a class ``Interval``, and the engineer kept them there through a fix request."""
    for spec in data.get("data_structures") or []:
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str) or not isinstance(spec.get("name"), str):
            continue
        methods = [m for m in spec.get("methods") or [] if isinstance(m, str)]
        named = {re.match(r"\s*(\w*)", m)[1] for m in methods}  # type: ignore[index]
        module = PurePosixPath(spec["file"]).stem
        if spec["name"] != module and named & set(functions):
            notes.append(f"{spec['name']}: its methods {', '.join(sorted(named & set(functions)))} are functions "
                         f"the requirement calls by name; listed as the functions of module {module}")  # fmt: skip
            spec["name"] = module
            spec["methods"] = [m for m in methods if not re.match(r"\s*__\w+__", m)]
            spec["attributes"] = []  # an instance's attributes: no module has them


def _special_methods(data: dict[str, Any], special_method: Callable[[str, str], str | None], notes: list[str]) -> None:
    for spec in data.get("data_structures") or []:
        methods = spec.get("methods") if isinstance(spec, dict) else None
        if not isinstance(methods, list):
            continue
        written = []
        for entry in methods:
            owner = spec.get("name") if isinstance(spec.get("name"), str) else ""
            method = special_method(entry, owner) if isinstance(entry, str) else None
            if method is not None:
                notes.append(f"{spec.get('name', 'a class')}: the method listed as {entry!r} is {method}")
            written.append(method or entry)
        spec["methods"] = list(dict.fromkeys(written))


def mend_files(files: list[str], entry_points: Sequence[EntryPoint], notes: list[str]) -> list[str]:
    """Drop repeats and a top-level module that clashes with a package of the same name (the package
    holds more of the design), then add the files an entry point of the requirement still lacks. A
    package added so makes the module of its name go too, and what that module provided is added
    again in the package's form (mdtoc on 33ed395: `mdtoc.py` listed, the package `mdtoc/` added,
    and the design refused three times for the clash)."""
    files = list(dict.fromkeys(f.strip() for f in files))
    _drop_clashes(files, notes)
    _add_entry_files(files, entry_points, notes)
    if _drop_clashes(files, notes):
        _add_entry_files(files, entry_points, notes)
    return files


def _add_entry_files(files: list[str], entry_points: Sequence[EntryPoint], notes: list[str]) -> None:
    packages = {PurePosixPath(f).parts[0] for f in files if len(PurePosixPath(f).parts) > 1}
    for entry in entry_points:
        options = entry.files()
        if entry.provided_by(files):
            continue
        option = min(options, key=lambda o: (len(set(o) - set(files)), options.index(o)))
        clashing = [f for f in option if "/" not in f and PurePosixPath(f).stem in packages]
        if clashing:  # the module form would clash again: take the package form
            option = next((o for o in options if not set(o) & set(clashing)), option)
        added = [f for f in option if f not in files]
        files += added
        notes.append(f"added {', '.join(added)} to the design: the requirement uses {entry.describe()}")


def _drop_clashes(files: list[str], notes: list[str]) -> list[str]:
    """Drop from ``files`` each top-level module named like a package of the list; those dropped."""
    packages = {PurePosixPath(f).parts[0] for f in files if len(PurePosixPath(f).parts) > 1}
    dropped = [f for f in files if "/" not in f and PurePosixPath(f).stem in packages]
    for clash in dropped:
        files.remove(clash)
        notes.append(f"dropped {clash} from the design: the package {PurePosixPath(clash).stem}/ has its import name")
    return dropped


def _follow_moves(data: dict[str, Any]) -> None:
    """Classes placed in a dropped module move to the first file of the package that replaced it."""
    files = data["file_list"]
    for spec in data.get("data_structures") or []:
        if isinstance(spec, dict) and isinstance(spec.get("file"), str) and spec["file"] not in files:
            stem = PurePosixPath(spec["file"]).stem
            spec["file"] = next((f for f in files if PurePosixPath(f).parts[0] == stem), spec["file"])
