"""A batch on a Ray cluster: each run a Ray task that calls the runtime on a worker.

The design, in short:

- **Shared path.** The workspace (run store and project folders) is a path every worker and the
  driver can read and write: one machine, or a shared file system with working POSIX locks. Workers
  write the store as a local run does; the driver reads each run's row from it. A team server
  serving the same workspace follows the runs live from the store, as it follows any other process.
- **One hub actor** (``hub.Hub``) on the driver's node holds the batch budget, the rate limit (a
  token bucket shared by every worker) and the news for the driver's progress view; workers call it
  before each model call.
- **Retries.** A task whose worker dies (its node killed) is retried by Ray (``max_retries``); the
  retry finds the run in the store and resumes it, its recorded calls served from the store.
- **Warm workers.** Ray reuses worker processes, and a local model is loaded once per process
  (``llm.local.provider.load_model``), so it is loaded once per worker, not once per run.

``ray`` is the optional extra ``agentco[ray]``, imported only in this module.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, redirect_stdout
from typing import Any

from agentco.batch.hub import Hub, News
from agentco.batch.items import Job
from agentco.batch.work import run_job
from agentco.config import Settings
from agentco.errors import ConfigError, MissingExtraError

LOCAL = "local"
"""The address that means: start a cluster on this machine for the batch, and stop it after."""
MAX_RETRIES = 3
"""Times Ray runs a task again after its worker died."""
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise MissingExtraError("ray", "ray") from None
    return ray


class RayCluster:
    """A connected cluster: ``executor(hub)`` gives the batch driver its way to run jobs there."""

    def __init__(self, ray: Any, address: str):
        self.ray, self.address = ray, address

    def executor(self, hub: Hub) -> RayExecutor:
        return RayExecutor(self.ray, hub)

    def nodes(self) -> int:
        return sum(1 for node in self.ray.nodes() if node.get("Alive"))


def cluster_for(address: str | None, num_cpus: int) -> AbstractContextManager[RayCluster | None]:
    """The Ray cluster at ``address`` (``local``: one started here, with ``num_cpus`` run slots),
    connected for the batch; None when no address is given: the runs go on threads of this process."""
    return nullcontext(None) if address is None else connect(address, num_cpus=num_cpus)


@contextmanager
def connect(address: str | None, *, num_cpus: int) -> Iterator[RayCluster]:
    """Start a cluster on this machine (``address`` None or ``local``, with ``num_cpus`` run slots), or
    connect to one (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``); shut down the connection after."""
    ray = _ray()
    env = forwarded_env()
    options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if env:
        options["runtime_env"] = {"env_vars": env}
    with redirect_stdout(sys.stderr):  # what Ray says (a task retried, a node lost): stdout stays for --json
        try:
            if address in (None, LOCAL):
                ray.init(address=LOCAL, num_cpus=num_cpus, include_dashboard=False, **options)
            else:
                ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc}", key="--ray") from None
        try:
            yield RayCluster(ray, address or LOCAL)
        finally:
            ray.shutdown()


def forwarded_env() -> dict[str, str]:
    """The driver's ``AGENTCO_*`` settings for the workers (the request guard among them), never one
    that looks like a secret: a provider's key is set on the worker nodes themselves."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith("AGENTCO_") and not any(word in name for word in _SECRET_WORDS)
    }


class RayExecutor:
    """Runs jobs as Ray tasks, one CPU each, retried when their worker dies; the hub is one actor."""

    def __init__(self, ray: Any, hub: Hub):
        self.ray = ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        # on the driver's node: a batch outlives any other node, and its hub with it
        self.actor = (
            ray.remote(Hub)
            .options(num_cpus=0, scheduling_strategy=here)
            .remote(hub.budget, _per_minute(hub), hub.spent)
        )
        self.task = ray.remote(_work).options(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)

    def submit(self, settings: Settings, job: Job, timeout: float | None) -> Any:
        return self.task.remote(settings, job, self.actor, timeout)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        if not handles:
            return []
        done, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        return done

    def result(self, handle: Any) -> dict | str:
        """The run's row, or why the task failed for good (its retries spent)."""
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayError as exc:
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def exhausted(self) -> bool:
        return self.ray.get(self.actor.exhausted.remote())

    def drain(self) -> list[News]:
        return self.ray.get(self.actor.drain.remote())

    def close(self, abandon: bool = False) -> None:
        self.ray.kill(self.actor)  # an abandoned batch's tasks end with the driver's connection


def _per_minute(hub: Hub) -> float | None:
    return hub.rate * 60 if hub.rate else None


class RemoteHub:
    """A worker's view of the hub actor: the calls that decide wait for the answer, the rest do not."""

    def __init__(self, actor: Any):
        import ray

        self.ray, self.actor = ray, actor

    def admit(self, key: str) -> str | None:
        return self.ray.get(self.actor.admit.remote(key))

    def slot(self) -> float:
        return self.ray.get(self.actor.slot.remote())

    def settle(self, key: str, cost: float) -> None:
        self.actor.settle.remote(key, cost)

    def post(self, *news: News) -> None:
        self.actor.post.remote(*news)


def _work(settings: Settings, job: Job, actor: Any, timeout: float | None) -> dict:
    """The Ray task: one job's run on this worker."""
    import ray

    worker = f"{ray.get_runtime_context().get_node_id()[:8]}:{os.getpid()}"
    return run_job(settings, job, RemoteHub(actor), worker=worker, timeout=timeout)
