"""The container files say what the README says they do (deploy/container.sh builds and runs them;
that takes podman and a minute and a half, so it is a script, not a test)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_the_dockerfile_takes_a_base_image_and_runs_the_server_without_node():
    text = (ROOT / "Dockerfile").read_text()
    assert text.index("ARG BASE_IMAGE") < text.index("FROM ${BASE_IMAGE}")
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and a runtime stage"
    runtime = stages[-1]
    assert "nodejs" not in runtime and "npm" not in runtime
    assert "bubblewrap" in runtime and "AGENTCO_TOOLS_DIR=/opt/agentco-tools" in runtime
    assert re.search(r'CMD \["agentco", "serve", "--host", "0.0.0.0"', runtime)


def test_compose_keeps_data_in_a_volume_and_lets_bubblewrap_work():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    server = compose["services"]["agentco"]
    assert "agentco-data:/data" in server["volumes"] and "agentco-data" in compose["volumes"]
    assert {"seccomp=unconfined", "systempaths=unconfined"} <= set(server["security_opt"])
    assert all(port.startswith("127.0.0.1:") for port in server["ports"])
    assert compose["services"]["model"]["profiles"] == ["model"]


def test_the_deploy_scripts_parse():
    for script in ("deploy/container.sh", "deploy/base-image.sh"):
        subprocess.run(["bash", "-n", str(ROOT / script)], check=True)
