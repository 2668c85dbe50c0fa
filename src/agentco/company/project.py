"""The generated project's folder: a real git repository with one commit per stage."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agentco.errors import ConfigError, RunFailed
from agentco.events import ARTIFACT, EventBus

AUTHORS = {
    "product_manager": "Alice (Product Manager)",
    "architect": "Bob (Architect)",
    "project_manager": "Eve (Project Manager)",
    "engineer": "Alex (Engineer)",
    "qa_engineer": "Edward (QA Engineer)",
    "agentco": "agentco",
}


@dataclass
class ProjectFolder:
    root: Path
    events: EventBus | None = None
    """Told of every file written (path and sha256): the run store records artifacts."""

    @classmethod
    def create(cls, root: Path, *, events: EventBus | None = None, replace: bool = False) -> ProjectFolder:
        if root.exists() and any(root.iterdir()):
            if not replace:
                raise ConfigError(f"{root} already exists; choose another name with --project-name, or remove it first")
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root, events)
        project._git("init", "-q", "-b", "main")
        (root / ".gitignore").write_text(".venv/\n__pycache__/\n.pytest_cache/\n.agentco/*.xml\n", encoding="utf-8")
        return project

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise RunFailed(f"refusing to write outside the project: {relative}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if self.events is not None:
            self.events.emit(ARTIFACT, path=relative, sha256=hashlib.sha256(text.encode()).hexdigest())
        return path

    def write_json(self, relative: str, data: object) -> Path:
        return self.write(relative, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def commit(self, message: str, role: str) -> None:
        """Commit everything as the role that did the work (no-op when nothing changed)."""
        self._git("add", "-A")
        if self._git("status", "--porcelain", capture=True).strip() == "":
            return
        author = AUTHORS.get(role, role)
        email = f"{role}@agentco.local"
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": "agentco",
            "GIT_COMMITTER_EMAIL": "agentco@agentco.local",
        }
        self._git("commit", "-q", "--no-verify", "-m", message, env=env)

    def _git(self, *args: str, capture: bool = False, env: dict[str, str] | None = None) -> str:
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
        try:
            # its own session: a Ctrl-C meant for agentco must not kill git halfway through a commit
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                env=full_env,
                check=True,
                text=True,
                capture_output=True,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ConfigError("git is not installed; agentco keeps every project in a git repository") from None
        except subprocess.CalledProcessError as exc:
            raise RunFailed(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from None
        return done.stdout if capture else ""
