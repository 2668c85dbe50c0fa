"""A role with ``knowledge: [NAME]`` answering from a real knowledge base of the workspace
(``agentco.kb``, SQLite full-text search here), its citations recorded with source and chunk."""

import pytest

from agentco.errors import ConfigError
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.meter import Meter
from agentco.scenario.engine import Setup
from agentco.scenario.knowledge import KbRetriever
from agentco.scenario.registry import load
from agentco.scenario.run import run_scenario


def support_kb(workspace):
    from agentco.kb import KnowledgeBase

    faq = workspace / "docs" / "refunds.md"
    faq.parent.mkdir()
    faq.write_text("# Refunds\n\nA refund is paid within 5 working days of the return reaching our warehouse.\n")
    kb = KnowledgeBase.open(workspace, "support", create=True)
    kb.add(faq)
    kb.close()
    return faq


async def test_the_service_desk_answers_from_the_knowledge_base_and_cites_it(tmp_path):
    faq = support_kb(tmp_path)
    prompts = []

    def desk(request):
        prompts.append(request.messages[-1]["content"])
        return '{"answer": "Your refund arrives within 5 working days [1].", "escalate": false}'

    llm = LLMClient(FunctionModel(desk), Meter())
    setup = Setup(inputs={"question": "When is my refund paid?"}, client_for=lambda role: llm,
                  retriever=KbRetriever(tmp_path))  # fmt: skip
    outcome = await run_scenario(load("service-desk"), setup, llm, workspace=tmp_path)
    assert [t["speaker"] for t in outcome.transcript] == ["front_line"]  # settled: no escalation
    assert "within 5 working days of the return" in prompts[0] and "[1] (" in prompts[0]
    assert outcome.transcript[0]["citations"] == [{"n": 1, "source": str(faq), "chunk": 0}]


async def test_a_missing_knowledge_base_stops_the_run_before_any_call(tmp_path):
    llm = LLMClient(FunctionModel(lambda request: "never"), Meter())
    setup = Setup(inputs={"question": "?"}, client_for=lambda role: llm, retriever=KbRetriever(tmp_path))
    with pytest.raises(ConfigError, match="no knowledge base 'support'"):
        await run_scenario(load("service-desk"), setup, llm, workspace=tmp_path)
    assert llm.meter.llm_calls == 0
