"""A batch on a real Ray cluster on loopback: a head node and a second node, started here with
``ray start``; the second is killed half-way through the batch.

Skipped when ray is not installed (``pip install -e '.[ray]'``; CI installs it with ``.[all]``).
The cluster's processes are ended by their ids (the trees of the two ``ray start --block``), never
with ``ray stop``, which would stop every Ray cluster on the machine.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="ray is not installed: pip install -e '.[ray]' (CI installs it with .[all])")
psutil = pytest.importorskip("psutil", reason="psutil comes with ray")

from test_batch import (  # noqa: E402  (after the skip: the helpers and the run without Ray)
    CALLS,
    batch_args,
    batch_projects,
    calls_made,
    cli_env,
    needs_sandbox,
    reference,  # noqa: F401  (a fixture, used by name)
    store_rows,
    write_ideas,
)

RAY = str(Path(sys.executable).with_name("ray"))
QUIET_RAY = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
"""A throwaway cluster on loopback: no usage reports, and no token (Ray enables one when it finds
~/.ray/auth_token, which a local ``ray.init`` writes, and then ``ray status`` must be given it)."""


@dataclass
class Cluster:
    address: str
    head: subprocess.Popen[bytes]
    node: subprocess.Popen[bytes]
    """The second node, the one the test kills."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nodes_up(address: str, env: dict[str, str]) -> int:
    done = subprocess.run([RAY, "status", f"--address={address}"], env=env, capture_output=True, text=True)
    return done.stdout.split("Pending:")[0].count("node_") if done.returncode == 0 else 0


def process_tree(pid: int) -> list:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_tree(pid: int) -> list[int]:
    procs = process_tree(pid)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=10)
    return [proc.pid for proc in procs]


@pytest.fixture
def ray_cluster(tmp_path):
    # Ray's socket paths must fit in 107 bytes: a short temp folder, not pytest's long one
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**cli_env(tmp_path / "calls.log"), **QUIET_RAY}
    address = f"127.0.0.1:{free_port()}"
    common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats", "--block"]
    head = subprocess.Popen(
        [RAY, "start", "--head", f"--port={address.split(':')[1]}", "--num-cpus=1", "--include-dashboard=false",
         f"--temp-dir={temp}", *common],
        env=env, stdout=(tmp_path / "head.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    node = None
    try:
        deadline = time.monotonic() + 90
        while nodes_up(address, env) < 1:
            assert head.poll() is None and time.monotonic() < deadline, (tmp_path / "head.log").read_text()
            time.sleep(0.5)
        node = subprocess.Popen(
            [RAY, "start", f"--address={address}", "--num-cpus=2", *common],
            env=env, stdout=(tmp_path / "node.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        while nodes_up(address, env) < 2:
            assert node.poll() is None and time.monotonic() < deadline, (tmp_path / "node.log").read_text()
            time.sleep(0.5)
        yield Cluster(address, head, node)
    finally:
        for proc in (node, head):
            if proc is not None:
                kill_tree(proc.pid)
        shutil.rmtree(temp, ignore_errors=True)


@needs_sandbox
def test_a_batch_on_a_ray_cluster_makes_the_same_projects_and_survives_a_killed_node(
    tmp_path,
    ray_cluster,
    reference,  # noqa: F811  (the fixture imported above)
):
    write_ideas(tmp_path)
    log, workspace = tmp_path / "calls.log", tmp_path / "ws"
    driver = subprocess.Popen(
        batch_args("--ray", ray_cluster.address, "--concurrency", "3", "--json"), cwd=tmp_path, env={**cli_env(log), **QUIET_RAY},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not (
            sum(s == "completed" for s, _ in store_rows(workspace).values()) >= 2
            and sum(s == "running" and n > 0 for s, n in store_rows(workspace).values()) >= 2
        ):  # two runs in progress (of three slots, the second node has two)
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "timed out waiting for the batch"
            time.sleep(0.02)
        killed = kill_tree(ray_cluster.node.pid)
        out, err = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            kill_tree(driver.pid)
    assert driver.returncode == 0, out + err
    report = json.loads(out)
    rows = report["runs"]
    assert report["batch"]["ray"] == ray_cluster.address
    assert all(row["status"] == "completed" and row["calls"] == CALLS for row in rows), rows

    # the same projects as the batch on threads, file for file
    assert batch_projects(workspace) == batch_projects(reference[0] / "ws")

    # runs cut off with the node were retried elsewhere and resumed from their recorded calls
    pid = lambda worker: int(worker.rsplit(":", 1)[1])  # noqa: E731
    retried = [row for row in rows if pid(row["workers"][0]) in killed]
    retried = [row for row in retried if len(row["workers"]) > 1]
    assert retried, [row["workers"] for row in rows]
    assert all(pid(row["workers"][-1]) not in killed for row in retried)
    stored = sum(n for _, n in store_rows(workspace).values())
    assert stored == report["totals"]["calls"] == 10 * CALLS
    # at most the one call of each cut-off run that was answered as the kill came, before it was stored
    assert 0 <= calls_made(log) - stored <= len(retried)
    # workers are reused: fewer processes than runs (a local model would load once per process)
    assert len({worker for row in rows for worker in row["workers"]}) < len(rows)
