"""A scenario run wired from the settings and its request: each role's model client, the human
seat, the knowledge bases, the answers and the conversation a resumed or continued run is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentco.config import Settings
from agentco.core.message import Message
from agentco.events import MESSAGE, EventBus
from agentco.llm.client import LLMClient

if TYPE_CHECKING:
    from agentco.runtime.request import ScenarioRequest
    from agentco.scenario.human import HumanSeat
    from agentco.store import RunStore


async def work_scenario(
    s: Settings, request: ScenarioRequest, llm: LLMClient, bus: EventBus, store: RunStore, run_id: str,
    previous_wall_s: float, seat: HumanSeat | None,
) -> Any:  # fmt: skip
    from agentco.scenario.engine import Setup
    from agentco.scenario.knowledge import KbRetriever
    from agentco.scenario.models import role_models
    from agentco.scenario.registry import load
    from agentco.scenario.run import run_scenario
    from agentco.scenario.turns import Sampling

    scenario = load(request.scenario)
    humans = frozenset({*request.humans, *scenario.humans()})
    models, notes = role_models(scenario, request.role_models, s.models, str(llm.ref))
    spoken = ", ".join(f"{role}={'a person' if role in humans else model}" for role, model in models.items())
    setup = Setup(
        inputs=request.inputs,
        client_for=clients(s, llm, models),
        humans=humans,
        seat=seat,
        retriever=KbRetriever(s.workspace) if scenario.knowledge() else None,
        sampling=Sampling(s.llm.temperature, min(s.llm.max_output_tokens, 512), s.output_attempts),
        answered=human_answers(store, run_id),
        earlier=earlier_conversation(store, request.continue_from),
        notes=[*notes, f"models: {spoken}"],
    )
    return await run_scenario(scenario, setup, llm, workspace=s.workspace, events=bus, store=store, run_id=run_id,
                              previous_wall_s=previous_wall_s)  # fmt: skip


def clients(s: Settings, llm: LLMClient, models: dict[str, str]) -> Any:
    """A role's client: the run's own for the run's model, else one per model sharing its meter and cache."""
    from agentco.llm.registry import create_provider, resolve_model

    made: dict[str, LLMClient] = {str(llm.ref): llm}

    def client_for(role: str) -> LLMClient:
        model = models[role]
        if model not in made:
            settings = s.llm.model_copy(update={"model": model})
            provider = create_provider(resolve_model(settings)[0], settings, models_dir=s.models_dir.expanduser())
            made[model] = llm.with_provider(provider)
            if hasattr(provider, "ensure_ready"):
                provider.ensure_ready()
        return made[model]

    return client_for


def human_answers(store: RunStore, run_id: str) -> dict[str, str]:
    """What a person said in this run before it was stopped, by turn."""
    return {
        e.data["id"]: e.data["content"]
        for e in store.events(run_id)
        if e.kind == MESSAGE and isinstance(e.data.get("payload"), dict) and e.data["payload"].get("human")
    }


def earlier_conversation(store: RunStore, run_id: str | None) -> list[Message]:
    """The messages of the conversation ``run_id`` had, each once (a resumed run said them again)."""
    if run_id is None:
        return []
    from agentco.errors import ConfigError
    from agentco.scenario.engine import EARLIER

    record = store.get_run(run_id)
    if record is None:
        raise ConfigError(f"no run {run_id} in {store.path.parent.parent} to continue", key="--continue")
    before = earlier_conversation(store, record.options.get("continue_from"))
    said: dict[str, Message] = {}
    for m in store.messages(run_id):
        if m.cause_by != EARLIER and m.id not in said:
            to = frozenset(m.send_to)
            said[m.id] = Message(m.content, sent_from=m.sent_from, cause_by=EARLIER, send_to=to, id=m.id,
                                 payload=m.payload)  # fmt: skip
    return [*before, *said.values()]
