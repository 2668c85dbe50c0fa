"""Which model a role speaks with: ``--role-model ROLE=M``, else the role's ``model`` (an alias of
the config's ``models:`` or a ``provider:model``), else the run's model."""

from __future__ import annotations

from agentco.config import MODEL_ALIASES
from agentco.errors import ConfigError
from agentco.scenario.schema import Scenario


def role_models(
    scenario: Scenario, chosen: dict[str, str], aliases: dict[str, str], run_model: str
) -> tuple[dict[str, str], list[str]]:
    """Each role's ``provider:model``, and a note naming the roles whose alias the config leaves unset."""
    unknown = [role for role in chosen if role not in scenario.roles]
    if unknown:
        raise ConfigError(f"no role {unknown[0]!r} in {scenario.name} (roles: {', '.join(scenario.roles)})",
                          key="--role-model")  # fmt: skip
    models, unset = {}, []
    for role, spec in scenario.roles.items():
        wanted = chosen.get(role) or spec.model or "default"
        models[role] = resolve(wanted, aliases, run_model, role)
        if ":" not in wanted and wanted not in aliases and wanted != "default":
            unset.append(f"{role} ({wanted})")
    notes = []
    if unset:
        notes.append(f"model aliases the config does not set (models:) are the run's model {run_model}: "
                     + ", ".join(unset))  # fmt: skip
    return models, notes


def resolve(wanted: str, aliases: dict[str, str], run_model: str, role: str = "") -> str:
    """A role's ``provider:model`` from what it asks for; an alias the config leaves unset is the run's model."""
    if ":" in wanted:
        return wanted
    if wanted in aliases:
        return aliases[wanted]
    if wanted in MODEL_ALIASES:
        return run_model
    known = ", ".join(sorted({*MODEL_ALIASES, *aliases}))
    raise ConfigError(f"role {role!r}: {wanted!r} is neither a model alias ({known}) nor provider:model")
