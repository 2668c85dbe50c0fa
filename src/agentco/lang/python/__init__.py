"""Python, for the company: prompts, path rules, entry points, the test-plan language, and a
project's venv, lint, imports and pytest run in the sandbox."""

from agentco.lang.python.toolchain import PythonToolchain

__all__ = ["PythonToolchain"]
