"""Every configuration key, given a bad value in agentco.yaml or the environment, through the real CLI:
exit status 2, one line naming where the value came from, the key and the problem, no traceback, no
model call, and nothing in the folder changed."""

from __future__ import annotations

import pytest

from cli_probe import agentco, clear, snapshot

IDEA = "Write roman.py with to_roman and from_roman."

CONFIG = {
    # key: (agentco.yaml text, words the message must hold besides the key)
    "llm.model": ("llm:\n  model: ''\n", ["empty value"]),
    "llm.api_type": ("llm:\n  api_type: '  '\n", ["empty value"]),
    "llm.base_url": ("llm:\n  base_url: localhost:8000/v1\n", ["http://"]),
    "llm.api_key": ("llm:\n  api_key: ''\n", ["empty value"]),
    "llm.api_version": ("llm:\n  api_version: ''\n", ["empty value"]),
    "llm.temperature": ("llm:\n  temperature: 5\n", ["less than or equal to 2"]),
    "llm.max_output_tokens": ("llm:\n  max_output_tokens: 0\n", ["greater than 0"]),
    "llm.timeout": ("llm:\n  timeout: -1\n", ["greater than 0"]),
    "llm.stall_timeout": ("llm:\n  stall_timeout: soon\n", ["valid number"]),
    "llm.max_retries": ("llm:\n  max_retries: -1\n", ["greater than or equal to 0"]),
    "llm.context_length": ("llm:\n  context_length: 0\n", ["greater than 0"]),
    "llm.threads": ("llm:\n  threads: 0\n", ["greater than 0"]),
    "llm.temprature": ("llm:\n  temprature: 0.5\n", ["not a setting", "'temperature'"]),
    "llm": ("llm: openai\n", ["valid dictionary"]),
    "roles": ("roles:\n  enginer:\n    model: openai:gpt-4o-mini\n", ["no role 'enginer'", "'engineer'"]),
    "roles.engineer.model": ("roles:\n  engineer:\n    model: ''\n", ["empty value"]),
    "roles.engineer.modle": ("roles:\n  engineer:\n    modle: x\n", ["not a setting", "'model'"]),
    "repair_llm_output": ("repair_llm_output: sometimes\n", ["valid boolean"]),
    "output_attempts": ("output_attempts: 0\n", ["greater than or equal to 1"]),
    "max_budget": ("max_budget: -2\n", ["greater than or equal to 0"]),
    "max_tokens": ("max_tokens: lots\n", ["valid integer"]),
    "prices.vllm:mine": ("prices:\n  'vllm:mine': [0.5]\n", ["item 2 is missing"]),
    "workspace": ("workspace: ''\n", ["empty value"]),
    "models_dir": ("models_dir: ' '\n", ["empty value"]),
    "max_parallel_files": ("max_parallel_files: 0\n", ["greater than or equal to 1"]),
    "code_review": ("code_review: maybe\n", ["valid boolean"]),
    "run_tests": ("run_tests: [yes]\n", ["valid boolean"]),
    "fix_rounds": ("fix_rounds: -1\n", ["greater than or equal to 0"]),
    "sandbox_timeout": ("sandbox_timeout: 0\n", ["greater than 0"]),
    "modle": ("modle: openai:gpt-4o-mini\n", ["not a setting", "'llm.model'"]),
    "di.max_steps": ("di:\n  max_steps: 0\n", ["greater than or equal to 1"]),
    "di.cell_timout": ("di:\n  cell_timout: 5\n", ["not a setting", "'cell_timeout'"]),
    "di.env_dir": ("di:\n  env_dir: ''\n", ["empty value"]),
}

# Commands that read the configuration. A run names its model so that a bad value that slipped
# through would fail on the scripted model rather than start a real one; a key about the model
# itself cannot be overridden that way (--model replaces it), so llm.model skips the run.
COMMANDS = {
    "run": ["run", IDEA, "--model", "fake:roman", "-q", "--workspace", "ws"],
    "models list": ["models", "list"],
    "runs list": ["runs", "list"],
}


def cases():
    for key in CONFIG:
        for command in COMMANDS:
            if command == "run" and key == "llm.model":
                continue
            yield pytest.param(key, command, id=f"{key}-{command}")


@pytest.mark.parametrize(("key", "command"), list(cases()))
def test_a_bad_value_in_the_config_file_is_one_clear_line(tmp_path, key, command):
    text, words = CONFIG[key]
    (tmp_path / "agentco.yaml").write_text(text)
    before = snapshot(tmp_path)
    done = agentco(*COMMANDS[command], cwd=tmp_path)
    message = clear(done)
    assert done.returncode == 2, message
    assert "agentco.yaml" in message and key in message, message
    assert all(word in message for word in words), message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("variable", "value", "key", "words"),
    [
        ("AGENTCO_MODEL", "", "llm.model", ["empty value"]),
        ("AGENTCO_LLM__TEMPERATURE", "hot", "llm.temperature", ["valid number"]),
        ("AGENTCO_LLM__BASE_URL", "localhost:1234", "llm.base_url", ["http://"]),
        ("AGENTCO_WORKSPACE", "", "workspace", ["empty value"]),
        ("AGENTCO_FIX_ROUNDS", "-3", "fix_rounds", ["greater than or equal to 0"]),
        ("AGENTCO_ROLES__ARCHITEKT__MODEL", "x", "roles", ["'architect'"]),
    ],
)
def test_a_bad_value_in_the_environment_is_one_clear_line(tmp_path, variable, value, key, words):
    before = snapshot(tmp_path)
    done = agentco("models", "list", cwd=tmp_path, env={variable: value})
    message = clear(done)
    assert done.returncode == 2, message
    assert "environment (AGENTCO_*)" in message and key in message, message
    assert all(word in message for word in words), message
    assert snapshot(tmp_path) == before


def test_the_shipped_template_is_a_valid_config(tmp_path):
    """init-config writes a file every key of which loads (the matrix above starts from valid keys)."""
    done = agentco("init-config", "--path", "agentco.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = agentco("models", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
