"""Config layering and error messages."""

from pathlib import Path

import pytest

from agentco.config import load_settings
from agentco.errors import ConfigError
from agentco.llm.registry import resolve_model


def test_precedence_files_then_environment_then_flags(tmp_path):
    user, project = tmp_path / "user.yaml", tmp_path / "agentco.yaml"
    user.write_text("llm: {model: 'openai:gpt-4o', temperature: 0.5}\nmax_budget: 1\n")
    project.write_text("llm: {temperature: 0.1}\n")
    s = load_settings(paths=[user, project], environ={"AGENTCO_MAX_BUDGET": "2", "AGENTCO_LLM__BASE_URL": "http://x"})
    assert (s.llm.model, s.llm.temperature, s.max_budget, s.llm.base_url) == ("openai:gpt-4o", 0.1, 2.0, "http://x")
    s = load_settings({"max_budget": 3, "llm": {"model": "anthropic:claude-sonnet-4-5"}}, paths=[user], environ={})
    assert (s.max_budget, s.llm.model, s.llm.temperature) == (3, "anthropic:claude-sonnet-4-5", 0.5)


def test_unrelated_agentco_variables_are_not_config():
    s = load_settings(paths=[], environ={"AGENTCO_SANDBOX": "none", "AGENTCO_FAKE_CALL_LOG": "/tmp/x"})
    assert s.max_budget is None


def test_a_wrong_type_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "agentco.yaml"
    bad.write_text("llm:\n  temperature: hot\n")
    with pytest.raises(ConfigError) as info:
        load_settings(paths=[bad], environ={})
    assert str(bad) in str(info.value) and "llm.temperature" in str(info.value)


def test_broken_yaml_names_the_line(tmp_path):
    bad = tmp_path / "agentco.yaml"
    bad.write_text("llm:\n  model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"agentco.yaml: not valid YAML \(line \d+\)"):
        load_settings(paths=[bad], environ={})


def test_unknown_key_is_reported(tmp_path):
    bad = tmp_path / "agentco.yaml"
    bad.write_text("max_budjet: 3\n")
    with pytest.raises(ConfigError, match="max_budjet"):
        load_settings(paths=[bad], environ={})


def test_role_overrides_merge_over_the_default_model():
    s = load_settings(
        {"llm": {"model": "openai:gpt-4o-mini"}, "roles": {"engineer": {"model": "anthropic:x"}}}, paths=[], environ={}
    )
    assert s.llm_for("engineer").model == "anthropic:x"
    assert s.llm_for("architect").model == "openai:gpt-4o-mini"


def test_default_model_choice():
    s = load_settings(paths=[], environ={})
    assert str(resolve_model(s.llm, {"OPENAI_API_KEY": "k"})[0]) == "openai:gpt-4o-mini"
    assert str(resolve_model(s.llm, {"ANTHROPIC_API_KEY": "k"})[0]) == "anthropic:claude-sonnet-4-5"
    ref, notice = resolve_model(s.llm, {})
    assert str(ref) == "local:qwen2.5-coder-1.5b" and "local model" in notice


def test_loading_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    load_settings()
    assert list(Path(tmp_path).iterdir()) == []
