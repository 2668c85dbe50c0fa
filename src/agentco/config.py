"""Settings: defaults < ~/.agentco/config.yaml < ./agentco.yaml < environment < CLI flags.

Loaded once by the entry point and passed down; importing this module reads nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agentco.errors import ConfigError

DEFAULT_LOCAL_MODEL = "local:qwen2.5-coder-1.5b"
ROLE_NAMES = ("product_manager", "architect", "project_manager", "engineer", "qa_engineer", "data_interpreter")
MODEL_ALIASES = ("default", "small", "strong", "coder")
"""The aliases the built-in scenarios use; one the config leaves unset is the run's model."""
EMPTY = "an empty value is not a choice: leave the key out to use the default, or give a value"


def _not_blank(value: Any) -> Any:
    """An explicit empty value never means "the default": that is what leaving the key out says."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(EMPTY)
    return value


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_type: str | None = Field(None, description="provider: openai, azure, anthropic, ollama, local, ...")
    model: str | None = Field(None, description="model name, or provider:model")
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_version: str | None = Field(None, description="Azure OpenAI API version")
    temperature: float = Field(0.2, ge=0, le=2)
    max_output_tokens: int = Field(
        2048,
        gt=0,
        validation_alias=AliasChoices("max_output_tokens", "max_token"),
        description="max completion tokens per call (``max_token``, MetaGPT's name, is read too)",
    )
    timeout: float | None = Field(None, gt=0, description="seconds per call (default 120; 900 for local models)")
    stall_timeout: float = Field(60, gt=0, description="seconds without a streamed token")
    max_retries: int = Field(4, ge=0)
    context_length: int = Field(8192, gt=0, description="local models: context window")
    threads: int | None = Field(None, gt=0, description="local models: CPU threads (default: one per core)")

    _blank = field_validator("api_type", "model", "base_url", "api_key", "api_version", mode="before")(_not_blank)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// address")
        return value

    def merged(self, override: LLMSettings | None) -> LLMSettings:
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))


class DiSettings(BaseModel):
    """The Data Interpreter (``agentco di``)."""

    model_config = ConfigDict(extra="forbid")

    env_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "agentco" / "envs",
        description="where the kernel's data-science environment is created (once, with pip)",
    )
    max_steps: int = Field(5, ge=1, le=20, description="tasks in a plan")
    fix_attempts: int = Field(2, ge=0, description="rewrites of a failing cell before replanning")
    replans: int = Field(1, ge=0, description="new plans after a task that could not be fixed")
    max_calls: int = Field(15, ge=2, description="model calls before a run stops planning and fixing, and answers")
    cell_timeout: float = Field(120, gt=0, description="seconds a cell may run before it is interrupted")
    memory_mb: int = Field(4096, ge=256, description="the kernel's memory (address space) limit")
    cpu_seconds: int = Field(1800, ge=10, description="CPU seconds for a kernel's whole life")

    _blank = field_validator("env_dir", mode="before")(_not_blank)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    llm: LLMSettings = Field(default_factory=LLMSettings)
    roles: dict[str, LLMSettings] = Field(default_factory=dict, description="per-role model overrides")
    models: dict[str, str] = Field(
        default_factory=dict,
        description="model aliases a scenario's roles name (default, small, strong, coder) -> provider:model",
    )
    repair_llm_output: bool = True
    output_attempts: int = Field(3, ge=1, description="tries to get valid structured output")
    max_budget: float | None = Field(None, ge=0, description="US dollars per run")
    max_tokens: int | None = Field(None, ge=0, description="tokens (prompt + completion) per run")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="dollars per million tokens (input, output) by provider:model"
    )
    workspace: Path = Path("workspace")
    models_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "agentco" / "models")
    max_parallel_files: int | None = Field(
        None, ge=1, description="engineers writing at once (default: 1 local, 4 hosted)"
    )
    code_review: bool = Field(True, description="the engineer's model reviews each new file it wrote")
    one_reply_files: int = Field(
        6, ge=0, description="a project of at most this many files is written in one reply, so that they agree"
    )
    run_tests: bool = Field(True, description="QA runs the tests it writes (in the sandbox)")
    fix_rounds: int = Field(2, ge=0, description="rounds of fixes QA may ask for")
    sandbox_timeout: float = Field(300, gt=0, description="seconds a project's test run may take in the sandbox")
    di: DiSettings = Field(default_factory=DiSettings)

    _blank = field_validator("workspace", "models_dir", mode="before")(_not_blank)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, LLMSettings]) -> dict[str, LLMSettings]:
        if unknown := [name for name in roles if name not in ROLE_NAMES]:
            raise ValueError(
                f"no role {unknown[0]!r}{_did_you_mean(unknown[0], ROLE_NAMES)} (roles: {', '.join(ROLE_NAMES)})"
            )
        return roles

    @field_validator("models")
    @classmethod
    def _aliases(cls, models: dict[str, str]) -> dict[str, str]:
        for alias, model in models.items():
            if ":" in alias or not alias.strip():
                raise ValueError(f"{alias!r} is not an alias: a short name such as {', '.join(MODEL_ALIASES)}")
            provider, _, name = model.partition(":")
            if not provider.strip() or not name.strip():
                raise ValueError(f"{alias}: {model!r} must look like provider:model")
        return models

    def llm_for(self, role: str | None) -> LLMSettings:
        return self.llm.merged(self.roles.get(role)) if role else self.llm


def _did_you_mean(word: str, choices: Any) -> str:
    """``choices``: names, or a mapping of a name to how to write it (``model`` -> ``llm.model``)."""
    import difflib

    spelled = choices if isinstance(choices, dict) else {name: name for name in choices}
    close = difflib.get_close_matches(word, list(spelled), n=1, cutoff=0.6)
    return f"; did you mean {spelled[close[0]]!r}?" if close else ""


def user_config_path() -> Path:
    return Path.home() / ".agentco" / "config.yaml"


def project_config_path() -> Path:
    return Path.cwd() / "agentco.yaml"


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start}); save it as UTF-8", source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys to values", source=str(path))
    return data


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_layer(environ: dict[str, str]) -> dict[str, Any]:
    """``AGENTCO_LLM__MODEL=x`` -> {"llm": {"model": "x"}}; ``AGENTCO_MODEL`` is short for it."""
    layer: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("AGENTCO_"):
            continue
        path = name[len("AGENTCO_") :].lower().split("__")
        if path == ["model"]:
            path = ["llm", "model"]
        if path[0] not in Settings.model_fields:
            continue  # AGENTCO_SANDBOX, AGENTCO_ALLOW_MODEL_REQUESTS...: switches read where they apply
        node = layer
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return layer


def _validate(data: dict[str, Any], sources: list[tuple[str, dict[str, Any]]]) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        problem = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing" and loc and isinstance(loc[-1], int):  # a list or pair too short
            problem, loc = f"item {loc[-1] + 1} is missing", loc[:-1]
        depth = {name: _depth(layer, loc) for name, layer in sources}
        deepest = max(depth.values(), default=0)
        source = next((name for name, _ in reversed(sources) if deepest and depth[name] == deepest), None)
        if err["type"] == "extra_forbidden":
            section = DiSettings if loc[0] == "di" else LLMSettings
            known = {name: name for name in section.model_fields}
            if len(loc) == 1:
                known = {name: name for name in LLMSettings.model_fields}
                known = {**{name: f"llm.{name}" for name in known}, **{name: name for name in Settings.model_fields}}
            problem = f"not a setting{_did_you_mean(str(loc[-1]), known)}"
        raise ConfigError(problem, source=source, key=".".join(str(p) for p in loc)) from None


def _depth(layer: dict[str, Any], loc: tuple[Any, ...]) -> int:
    """How many leading parts of ``loc`` the layer has (the layer a bad value came from has the most)."""
    node: Any = layer
    for count, part in enumerate(loc):
        if not isinstance(node, dict) or part not in node:
            return count
        node = node[part]
    return len(loc)


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    paths: list[Path] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the settings from every layer; errors name the file, the key and the problem."""
    paths = [user_config_path(), project_config_path()] if paths is None else paths
    environ = dict(os.environ) if environ is None else environ
    sources: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        if path.is_file():
            sources.append((str(path), _read_yaml(path)))
    for name, layer in sources:  # a file must be valid on its own, even where a later layer overrides it
        _validate(layer, [(name, layer)])
    sources.append(("environment (AGENTCO_*)", _env_layer(environ)))
    sources.append(("command line", overrides or {}))
    merged: dict[str, Any] = {}
    for _, layer in sources:
        merged = _deep_merge(merged, layer)
    return _validate(merged, sources)


CONFIG_TEMPLATE = """\
# agentco configuration. Precedence (lowest first): this file in ~/.agentco/config.yaml,
# ./agentco.yaml, environment variables (AGENTCO_*, OPENAI_API_KEY, ...), command-line flags.
llm:
  # provider:model. Leave unset to use OpenAI/Anthropic when their key is in the
  # environment, and otherwise the embedded local model (local:qwen2.5-coder-1.5b).
  # Examples: openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, ollama:qwen2.5-coder:7b,
  #           deepseek:deepseek-chat, gemini:gemini-2.0-flash, local:/path/to/model.gguf
  # model: openai:gpt-4o-mini
  # api_type: openai          # provider, when model has no "provider:" prefix
  # base_url: http://localhost:8000/v1   # any OpenAI-compatible server (vLLM, llama.cpp, ...)
  # api_key: sk-...           # better kept in OPENAI_API_KEY / ANTHROPIC_API_KEY
  temperature: 0.2
  max_output_tokens: 2048     # max completion tokens per call (max_token is read too)
  # timeout: 120              # seconds per call (default 120 hosted, 900 local)
  max_retries: 4              # for 429 / 5xx / dropped connections / stalled streams
  stall_timeout: 60           # seconds without a streamed token before the call is retried
  # api_version: 2024-10-21   # Azure OpenAI: base_url is the endpoint, model the deployment name
  # context_length: 8192      # local models only
  # threads: 2                # local models: CPU threads (default: one per core)

# Per-role model overrides (product_manager, architect, project_manager, engineer, qa_engineer):
# roles:
#   engineer:
#     model: anthropic:claude-sonnet-4-5

# Model aliases that scenario roles name (model: strong); an alias left unset is the run's model:
# models:
#   small: local:qwen2.5-coder-0.5b
#   strong: openai:gpt-4o

repair_llm_output: true       # tolerate slightly malformed JSON before validating it
output_attempts: 3            # tries to get schema-valid output, with the error fed back
# max_budget: 2.0             # US dollars per run; the run stops before passing it
# max_tokens: 500000          # optional token budget per run
# prices:                     # $ per million tokens (input, output) for models genai-prices doesn't know
#   vllm:my-finetune: [0.5, 1.5]
workspace: workspace
code_review: true             # the model reviews each file the engineer writes
one_reply_files: 6            # a project of 2 to 6 files is written in one reply (0: file by file)
run_tests: true               # QA runs its tests in the sandbox
fix_rounds: 2                 # rounds of fixes QA may ask for
sandbox_timeout: 300          # seconds a project's test run may take

# The Data Interpreter (agentco di):
# di:
#   env_dir: ~/.cache/agentco/envs   # its kernel's own environment (pandas, numpy, ...), made once
#   max_steps: 5                     # tasks in a plan
#   fix_attempts: 2                  # rewrites of a failing cell before it replans
#   replans: 1
#   max_calls: 15                    # model calls before it stops fixing and answers with what it has
#   cell_timeout: 120                # seconds per cell, then it is interrupted
#   memory_mb: 4096                  # the kernel's memory limit
#   cpu_seconds: 1800                # CPU seconds for a kernel's whole life
"""
