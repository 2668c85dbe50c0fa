"""What a run was asked to do: typed, validated, and stored as JSON with the run so it can resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentco.company.project import folder_name_problem
from agentco.config import Settings
from agentco.errors import ConfigError
from agentco.store.redact import redact_secret_shapes


class _Request(BaseModel):
    """What every kind of run is asked: its words, model, budget, folder and workspace. Unset
    fields (None) take the value of the settings."""

    model_config = ConfigDict(extra="forbid")

    idea: str = Field("", description="what to do, in the user's words (a replay takes the replayed run's)")
    model: str | None = Field(None, description="provider:model for every role (llm.model)")
    investment: float | None = Field(None, ge=0, description="budget in US dollars (max_budget)")
    project_name: str | None = Field(None, description="the project folder's name (default: from the run)")
    workspace: str | None = Field(None, description="where projects and the run store live (workspace)")

    @field_validator("project_name")
    @classmethod
    def _one_folder(cls, name: str | None) -> str | None:
        if name is not None and (problem := folder_name_problem(name)):
            raise ValueError(problem)
        return name

    @field_validator("idea")
    @classmethod
    def _no_secrets(cls, idea: str) -> str:
        """A key pasted into the idea is neither sent to a model nor stored, committed or shown."""
        return redact_secret_shapes(idea)[0]

    @field_validator("model", "workspace")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty value is not a choice: leave the option out to use the configured one")
        return value

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """A request from an entry point's values; a bad value is a ConfigError naming the field."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(err["msg"].removeprefix("Value error, "), source="run request", key=key or None) from None

    @classmethod
    def stored(cls, options: dict[str, Any]) -> Self:
        """The request a run stored; runs of older versions stored a plain dict of CLI options."""
        known = {key: value for key, value in options.items() if key in cls.model_fields}
        try:
            return cls.model_validate(known)
        except ValidationError as exc:
            raise ConfigError(f"the stored request of this run is not valid: {exc.errors()[0]['msg']}") from None

    def settings(self, settings: Settings) -> Settings:
        """``settings`` with what this request sets on top."""
        update: dict[str, Any] = {}
        if self.model:
            update["llm"] = settings.llm.model_copy(update={"model": self.model})
        if self.investment is not None:
            update["max_budget"] = self.investment
        if self.workspace:
            update["workspace"] = Path(self.workspace)
        return settings.model_copy(update=update)


class RunRequest(_Request):
    """One run of the software company."""

    kind: Literal["company"] = "company"
    n_round: int = Field(20, ge=1, description="maximum rounds of the team")
    code_review: bool | None = Field(None, description="the model reviews each new file (code_review)")
    run_tests: bool | None = Field(None, description="QA runs its tests (run_tests)")
    implement: bool = Field(True, description="False: stop after the documents")
    replay_of: str | None = Field(None, description="a run whose stored responses this run replays, with no model")
    review: list[Literal["prd", "design", "tasks"]] = Field(
        default_factory=list,
        description="the documents a reviewer approves, edits or sends back before the run goes on",
    )

    @model_validator(mode="after")
    def _says_what_to_build(self) -> RunRequest:
        if not self.idea.strip() and self.replay_of is None:
            raise ValueError('say what to build: agentco "IDEA"')
        return self

    def settings(self, settings: Settings) -> Settings:
        update = {flag: getattr(self, flag) for flag in ("code_review", "run_tests") if getattr(self, flag) is not None}
        return super().settings(settings).model_copy(update=update)


class DiRequest(_Request):
    """One run of the Data Interpreter."""

    kind: Literal["di"] = "di"
    data: list[str] = Field(default_factory=list, description="data files, copied read-only into the folder")
    max_steps: int | None = Field(None, ge=1, le=20, description="tasks in a plan (di.max_steps)")
    review: list[Literal["plan"]] = Field(default_factory=list, description="['plan']: a reviewer confirms the plan")
    replay_of: None = None
    """(A Data Interpreter run is not replayed; the field keeps one shape for the runtime.)"""

    @field_validator("idea")
    @classmethod
    def _says_what(cls, idea: str) -> str:
        if not idea.strip():
            raise ValueError('say what to find out: agentco di "REQUEST"')
        return idea

    @field_validator("data")
    @classmethod
    def _files(cls, data: list[str]) -> list[str]:
        paths = [Path(p).expanduser().resolve() for p in data]
        if missing := [str(p) for p in paths if not p.is_file()]:
            raise ValueError(f"no data file {missing[0]}")
        if len({p.name for p in paths}) != len(paths):
            raise ValueError("two data files have the same name; rename one")
        return [str(p) for p in paths]

    def settings(self, settings: Settings) -> Settings:
        s = super().settings(settings)
        if self.max_steps is not None:
            s = s.model_copy(update={"di": s.di.model_copy(update={"max_steps": self.max_steps})})
        return s


class ChangeRequest(_Request):
    """A change to an existing project (``--inc --project-path P``), or QA of one of its files (``--reqa-file``)."""

    kind: Literal["change"] = "change"
    project_path: str = Field(description="the project to change: a folder, made a git repository if it is not one")
    allow_dirty: bool = Field(False, description="work on a tree with uncommitted changes")
    reqa_file: str | None = Field(None, description="QA alone: write and run tests for this file of the project")
    replay_of: None = None
    review: list[str] = Field(default_factory=list, max_length=0, description="(no review gates for a change yet)")

    @field_validator("project_path")
    @classmethod
    def _folder(cls, path: str) -> str:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ValueError(f"no project folder {path}")
        return str(folder.resolve())

    @model_validator(mode="after")
    def _what(self) -> ChangeRequest:
        if self.project_name is not None:
            raise ValueError("a change works in its --project-path; --project-name names new projects")
        if self.reqa_file is None and not self.idea.strip():
            raise ValueError('say what to change: agentco "CHANGE" --inc --project-path P')
        if self.reqa_file is not None:
            file = Path(self.project_path, self.reqa_file).resolve()
            if not file.is_relative_to(Path(self.project_path)) or not file.is_file():
                raise ValueError(f"no file {self.reqa_file} in {self.project_path}")
            self.reqa_file = str(file.relative_to(Path(self.project_path)))
        return self


class ScenarioRequest(_Request):
    """A conversation of a scenario: a built-in's name or a scenario file, with its inputs."""

    kind: Literal["scenario"] = "scenario"
    scenario: str = Field(description="a built-in scenario (agentco scenarios list) or a scenario file")
    inputs: dict[str, str] = Field(default_factory=dict, description="the scenario's inputs (defaults filled in)")
    role_models: dict[str, str] = Field(default_factory=dict, description="a model or alias per role (--role-model)")
    humans: list[str] = Field(default_factory=list, description="roles a person plays (--human)")
    continue_from: str | None = Field(None, description="a run whose conversation this one goes on with")
    replay_of: None = None
    review: list[str] = Field(default_factory=list, max_length=0, description="(a scenario has no review gates)")

    @model_validator(mode="after")
    def _fits_the_scenario(self) -> ScenarioRequest:
        """The scenario loads, and the inputs, models and humans name what it has (a file is kept by
        its full path, so a resumed run finds it wherever it is resumed from)."""
        from agentco.scenario.registry import RUNNABLE, load

        scenario = load(self.scenario)
        if self.scenario not in RUNNABLE:
            self.scenario = str(Path(self.scenario).expanduser().resolve())
        if unknown := [key for key in self.inputs if key not in scenario.inputs]:
            raise ValueError(f"{scenario.name} has no input {unknown[0]!r} (inputs: {', '.join(scenario.inputs)})")
        for key, spec in scenario.inputs.items():
            if key not in self.inputs and spec.default is None:
                raise ValueError(f"{scenario.name} needs the input {key!r} ({spec.description}): --input {key}=...")
            self.inputs.setdefault(key, spec.default or "")
        if unknown := [role for role in [*self.humans, *self.role_models] if role not in scenario.roles]:
            raise ValueError(f"{scenario.name} has no role {unknown[0]!r} (roles: {', '.join(scenario.roles)})")
        self.inputs = {key: redact_secret_shapes(value)[0] for key, value in self.inputs.items()}
        if not self.idea.strip():
            self.idea = f"{scenario.name}: " + "; ".join(f"{k}={v}" for k, v in self.inputs.items())
        return self

    def settings(self, settings: Settings) -> Settings:
        """``--model`` is the run's model, and so what the ``default`` alias means in this run."""
        s = super().settings(settings)
        return s.model_copy(update={"models": {**s.models, "default": self.model}}) if self.model else s


AnyRequest = RunRequest | DiRequest | ChangeRequest | ScenarioRequest


def stored_request(options: dict[str, Any]) -> AnyRequest:
    """The request a run stored, of whichever kind it is."""
    kinds: dict[str, type[AnyRequest]] = {"di": DiRequest, "change": ChangeRequest, "scenario": ScenarioRequest}
    return kinds.get(options.get("kind", ""), RunRequest).stored(options)
