"""The package's build step: the web page of ``agentco serve`` is bundled from ``web/`` (its npm
dependencies, Mermaid among them, declared in web/package.json with a lockfile) into
``src/agentco/server/static/``, which is never committed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class WebPageHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        web, static = root / "web", root / "src" / "agentco" / "server" / "static"
        if not (web / "package.json").is_file():
            return  # building from a source archive that holds the built page already
        npm = shutil.which("npm")
        if npm is None:
            print("agentco: npm is not on the PATH; the web page of agentco serve is not built", file=sys.stderr)
            return
        installed = web / "node_modules" / ".package-lock.json"  # npm's record of what it installed
        if not installed.is_file() or installed.stat().st_mtime < (web / "package-lock.json").stat().st_mtime:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web, check=True)
        subprocess.run([npm, "run", "build", "--silent"], cwd=web, check=True)
        build_data["artifacts"].append("src/agentco/server/static/**")
        if not (static / "index.html").is_file():
            raise RuntimeError("the web page build wrote no index.html")
