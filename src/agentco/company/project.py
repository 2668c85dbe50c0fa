"""The generated project's folder: a real git repository with one commit per stage."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
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
    "data_interpreter": "David (Data Interpreter)",
    "agentco": "agentco",
    "reviewer": "Reviewer (human)",
}


FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,79}")
"""A project folder's name, however it is given (``--project-name``, a PRD, a replay): one plain
folder inside the workspace, never a path, ``..`` or markup."""


def folder_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a project folder, or None."""
    if FOLDER_NAME.fullmatch(name) and name.strip(".") and ".." not in name:
        return None
    return (
        f"{name!r} cannot name a project folder: use 1 to 80 letters, digits, '_', '-' or '.', "
        "starting with a letter, digit or '_' (a single folder inside the workspace, not a path)"
    )


_SAFE_CONFIG = [
    *("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.pager=cat"),
    *("-c", "commit.gpgSign=false", "-c", "diff.external=", "--no-pager"),
]
"""Nothing a repository's configuration names is run: no hooks, fsmonitor, pager, signer or external diff."""


@dataclass
class ProjectFolder:
    root: Path
    events: EventBus | None = None
    """Told of every file written (path and sha256): the run store records artifacts."""
    set_aside: Path | None = None
    """Where the folder this one replaced was moved (nothing is deleted)."""

    @classmethod
    def create(cls, root: Path, *, events: EventBus | None = None, replace: bool = False) -> ProjectFolder:
        """A new git repository at ``root``. A folder already there is an error, or with ``replace``
        (a run rebuilding its own folder): removed when it holds only what agentco committed there
        (and its ignored caches), else moved aside, so files a user added or changed survive."""
        if problem := folder_name_problem(root.name):
            raise ConfigError(problem, key="project_name")
        set_aside = None
        if root.is_symlink() or (root.exists() and not root.is_dir()):
            raise ConfigError(f"{root} exists and is not a folder; choose another name with --project-name")
        if root.exists() and any(root.iterdir()):
            if not replace:
                raise ConfigError(f"{root} already exists; choose another name with --project-name, or remove it first")
            if cls(root).only_committed():
                shutil.rmtree(root)
            else:
                set_aside = root.with_name(f"{root.name}.before-{time.strftime('%Y%m%d-%H%M%S')}")
                root.rename(set_aside)
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root, events, set_aside)
        project._git("init", "-q", "-b", "main")
        (root / ".gitignore").write_text(".venv/\n__pycache__/\n.pytest_cache/\n.agentco/*.xml\n", encoding="utf-8")
        return project

    @classmethod
    def open(cls, root: Path, *, events: EventBus | None = None) -> ProjectFolder:
        """An existing project to change; made a git repository (nothing committed) when it is not one."""
        if root.is_symlink() or not root.is_dir():
            raise ConfigError(f"{root} is not a project folder", key="--project-path")
        git = root / ".git"
        if git.is_symlink() or (git.exists() and not git.is_dir()):
            raise ConfigError(f"{root}/.git is not a folder; agentco changes only a plain git repository")
        project = cls(root, events)
        if not git.exists():
            project._git("init", "-q")
        return project

    def head(self) -> str | None:
        """The commit the work tree is on (None in a repository with no commit yet)."""
        try:
            return self._git("rev-parse", "--verify", "-q", "HEAD", capture=True).strip() or None
        except RunFailed:
            return None

    def changes(self, *, every_file: bool = True) -> list[str]:
        """``git status`` of the work tree, one line a path, untracked files included (each one, or
        with ``every_file`` False an untracked folder as one line)."""
        untracked = "--untracked-files=all" if every_file else "--untracked-files=normal"
        return self._git("status", "--porcelain", untracked, capture=True).splitlines()

    def put_back(self, path: str) -> bool:
        """``path`` as the last commit has it; False when the last commit has no such file."""
        try:
            self._git("checkout", "-q", "HEAD", "--", path)
        except RunFailed:
            return False
        return True

    def files(self) -> list[str]:
        """The paths git knows of or would add: tracked, and untracked but not ignored."""
        listed = self._git("ls-files", "-z", "--cached", "--others", "--exclude-standard", capture=True)
        return sorted({path for path in listed.split("\0") if path})

    def only_committed(self) -> bool:
        """Whether the folder is a repository whose every file is committed as it is (or ignored)."""
        if not (self.root / ".git").is_dir() or (self.root / ".git").is_symlink():
            return False
        try:
            return self._git("status", "--porcelain", "--untracked-files=all", capture=True).strip() == ""
        except RunFailed:
            return False

    def write(self, relative: str, text: str) -> Path:
        return self.write_bytes(relative, text.encode("utf-8"))

    def write_bytes(self, relative: str, content: bytes) -> Path:
        path = self.root / relative
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise RunFailed(f"refusing to write outside the project: {relative}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if self.events is not None:
            self.events.emit(ARTIFACT, path=relative, sha256=hashlib.sha256(content).hexdigest())
        return path

    def write_json(self, relative: str, data: object) -> Path:
        return self.write(relative, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def commit(self, message: str, role: str, paths: list[str] | None = None) -> None:
        """Commit everything (or only ``paths``) as the role that did the work (no-op when nothing changed)."""
        self._git("add", "-A", "--", *(paths or []))
        if self._git("diff", "--cached", "--name-only", capture=True).strip() == "":
            return
        author = AUTHORS.get(role, role)
        email = f"{role}@agentco.local"
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": "agentco",
            "GIT_COMMITTER_EMAIL": "agentco@agentco.local",
        }
        self._git("commit", "-q", "--no-verify", "-m", message, *(["--", *paths] if paths else []), env=env)

    def _git(self, *args: str, capture: bool = False, env: dict[str, str] | None = None) -> str:
        # Only the repository's own configuration, which agentco wrote and sandboxed code cannot
        # change (the sandbox mounts .git read-only); and no program it could name runs anyway.
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **(env or {})}
        try:
            # its own session: a Ctrl-C meant for agentco must not kill git halfway through a commit
            done = subprocess.run(
                ["git", *_SAFE_CONFIG, *args],
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
