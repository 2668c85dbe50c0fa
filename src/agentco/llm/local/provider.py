"""The embedded model: a GGUF file run in-process by llama.cpp, no server and no network.

One ``Llama`` per model file per process, so consecutive calls that share a prompt prefix (the same
system prompt and documents, a different last question) reuse its KV cache instead of re-reading
thousands of tokens. llama.cpp is blocking, so each call runs in a worker thread holding that
model's lock, and streamed text is handed back to the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentco.config import LLMSettings
from agentco.errors import ConfigError, MissingExtraError, PromptTooLong, ProviderError
from agentco.llm.base import ChatRequest, Completion, ModelRef, TokenSink, Usage
from agentco.llm.local.store import default_models_dir, resolve
from agentco.llm.repetition import REPETITION, WINDOW, looping

log = logging.getLogger(__name__)

MIN_ROOM = 256
"""Completion tokens a prompt must leave free (or all of ``max_tokens`` when that is smaller)."""

# Qwen2.5's recommended sampling, a sound default for other small instruct models too.
SAMPLING = {"top_p": 0.8, "top_k": 20, "repeat_penalty": 1.05}
LOOP_CHECK_EVERY = 16
"""Tokens between two looks for a reply caught in a loop (a look costs well under a millisecond)."""


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise MissingExtraError("llama-cpp-python", "local") from None
    return llama_cpp


@dataclass
class LoadedModel:
    """A loaded model and what a call needs beside it; one generation at a time."""

    llm: Any
    path: Path
    n_ctx: int
    formatter: Any | None
    threads: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """Exactly the tokens ``create_chat_completion`` will feed for these messages."""
        if self.formatter is not None:
            result = self.formatter(messages=messages)
            tokens = self.llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
            return len(tokens)
        # A built-in chat format we cannot render here: the contents plus a few tokens of framing each.
        text = "\n".join(m["content"] for m in messages)
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)) + 8 * len(messages)


_LOADED: dict[Path, LoadedModel] = {}
_LOADED_LOCK = threading.Lock()
_RESOLVE_LOCK = threading.Lock()  # one fetch of a model at a time, however many providers ask


@dataclass
class CallStats:
    """Token counts of a model's last call; ``reused`` prompt tokens came from the KV cache."""

    prompt: int = 0
    reused: int = 0
    completion: int = 0


def _counting_llama_class(llama_cpp: Any) -> type:
    """A ``Llama`` that records real token counts for its last call.

    Streamed chat completions carry no usage, so count at the one place every token passes.
    """

    class CountingLlama(llama_cpp.Llama):
        stats = CallStats()

        def generate(self, tokens, *args, **kwargs):  # type: ignore[no-untyped-def]
            cached = self._input_ids[: self.n_tokens].tolist()
            stats = self.stats = CallStats(prompt=len(tokens), reused=self.longest_token_prefix(cached, tokens))
            for token in super().generate(tokens, *args, **kwargs):
                if not llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
                    stats.completion += 1
                yield token

    return CountingLlama


def load_model(path: Path, n_ctx: int, threads: int | None = None) -> LoadedModel:
    """The process-wide instance for ``path`` (reloaded only when the context size or threads change)."""
    key = path.resolve()
    threads = threads or os.cpu_count() or 1
    with _LOADED_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None and (loaded.n_ctx, loaded.threads) == (n_ctx, threads):
            return loaded
        llama_cpp = _llama_cpp()
        if loaded is not None:
            with loaded.lock:
                loaded.llm.close()
            del _LOADED[key]
        try:
            llm = _counting_llama_class(llama_cpp)(model_path=str(key), n_ctx=n_ctx, n_threads=threads, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"llama.cpp could not load {key}: {exc}", key="llm.model") from None
        loaded = LoadedModel(llm, key, n_ctx, _chat_formatter(llama_cpp, llm), threads)
        _LOADED[key] = loaded
        return loaded


def unload_all() -> None:
    """Free every loaded model (tests and benchmarks use it to start cold)."""
    with _LOADED_LOCK:
        for loaded in _LOADED.values():
            with loaded.lock:
                loaded.llm.close()
        _LOADED.clear()


def _chat_formatter(llama_cpp: Any, llm: Any) -> Any | None:
    """The same Jinja formatter llama-cpp-python builds from the GGUF's own chat template."""
    template = llm.metadata.get("tokenizer.chat_template")
    if llm.chat_format != "chat_template.default" or not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos, bos = llm.token_eos(), llm.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


_BOUNDED_REPEAT = re.compile(r"\{\d*,?\d*\}")
_SCHEMA_MAPS = {"properties", "$defs", "definitions", "patternProperties"}
_SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
_SCHEMAS = {"items", "additionalProperties", "not"}
_TYPED = {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "properties", "items"}
ANY_VALUE = {"type": ["string", "number", "boolean", "null", "array", "object"]}


GRAMMAR_MAX_LENGTH = 200
"""String bounds up to this stay in the grammar: they stop a small model that repeats one character."""


def grammar_schema(schema: Any) -> Any:
    """The schema for llama.cpp's grammar: long string bounds and bounded regex repeats left out,
    and a schema that allows any JSON value spelled out.

    llama.cpp spells ``maxLength: 800`` as 800 nested optional rules, which makes sampling crawl;
    short bounds are cheap and keep a runaway string (``"0000..."``) from eating the token budget.
    Every bound is still enforced afterwards, when pydantic validates the answer. llama-cpp-python
    turns ``{}`` into "an object", which would forbid the strings and numbers it allows.
    """
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "minLength" or (key == "maxLength" and value > GRAMMAR_MAX_LENGTH):
            continue
        if key == "pattern" and isinstance(value, str) and _BOUNDED_REPEAT.search(value):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: grammar_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [grammar_schema(sub) for sub in value]
        elif key in _SCHEMAS and isinstance(value, dict):
            out[key] = grammar_schema(value)
        else:
            out[key] = value
    if not out.keys() & _TYPED:  # only a description, say: any value
        out.update(ANY_VALUE)
    return out


def check_grammar(loaded: LoadedModel, schema: Any, name: str) -> None:
    """Compile the schema's grammar once first: llama-cpp-python crashes the process on one it cannot parse."""
    import json

    import llama_cpp
    from llama_cpp import llama_grammar

    text = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    sampler = llama_cpp.llama_sampler_init_grammar(loaded.llm._model.vocab, text.encode(), b"root")
    if not sampler:
        raise ProviderError(f"llama.cpp cannot turn the JSON schema of {name} into a grammar (an unsupported pattern?)")
    llama_cpp.llama_sampler_free(sampler)


class LocalProvider:
    """``local:qwen2.5-coder-1.5b`` (fetched on first use) or ``local:/path/to/any.gguf``."""

    provider = "local"

    def __init__(self, model: str, settings: LLMSettings, *, models_dir: Path | None = None):
        self.model = model
        self.settings = settings
        self.models_dir = models_dir or default_models_dir()
        self._path: Path | None = None

    @classmethod
    def from_settings(cls, ref: ModelRef, settings: LLMSettings, *, models_dir: Path | None = None) -> LocalProvider:
        return cls(ref.model, settings, models_dir=models_dir)

    def ensure_ready(self) -> LoadedModel:
        """Fetch (first time only), verify and load the model. Blocking; cheap once done."""
        with _RESOLVE_LOCK:
            if self._path is None:
                self._path = resolve(self.model, self.models_dir)
        return load_model(self._path, self.settings.context_length, self.settings.threads)

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion:
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def emit(text: str) -> None:
            if on_token is None or stop.is_set():
                return
            try:
                loop.call_soon_threadsafe(on_token, text)
            except RuntimeError:  # the loop is gone: nobody is listening any more
                stop.set()

        try:
            loaded = await asyncio.to_thread(self.ensure_ready)
            return await asyncio.to_thread(self._generate, loaded, request, emit, stop)
        finally:
            stop.set()  # a cancelled call (timeout) stops generating at the next token

    def _generate(
        self, loaded: LoadedModel, request: ChatRequest, emit: TokenSink, stop: threading.Event
    ) -> Completion:
        with loaded.lock:
            if stop.is_set():  # cancelled while waiting for the model; nobody reads this
                return Completion(text="", model=self.model, finish_reason="cancelled")
            max_tokens = self._fit(loaded, request)
            kwargs: dict[str, Any] = {}
            if request.seed is not None:  # without one llama.cpp draws the next seed of its own sequence
                kwargs["seed"] = request.seed
            if request.json_schema is not None:
                schema = grammar_schema(request.json_schema)
                check_grammar(loaded, schema, request.schema_name)
                kwargs["response_format"] = {"type": "json_object", "schema": schema}
            try:
                chunks = loaded.llm.create_chat_completion(
                    messages=request.messages,
                    temperature=request.temperature,
                    max_tokens=max_tokens,
                    stream=True,
                    **SAMPLING,
                    **kwargs,
                )
                parts: list[str] = []
                finish_reason = None
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if text := choice["delta"].get("content"):
                        parts.append(text)
                        emit(text)
                    finish_reason = choice["finish_reason"] or finish_reason
                    if stop.is_set():
                        chunks.close()
                        finish_reason = "cancelled"
                        break
                    if len(parts) % LOOP_CHECK_EVERY == 0 and looping("".join(parts[-WINDOW:])):
                        chunks.close()  # it would repeat itself up to the cap: 12 tokens/s wasted
                        finish_reason = REPETITION
                        break
            except ValueError as exc:
                if "context window" in str(exc):  # llama.cpp's own check, should ours ever undercount
                    raise PromptTooLong(
                        f"{self.model}: {exc}; raise llm.context_length or shorten the prompt"
                    ) from None
                raise ProviderError(f"llama.cpp rejected the request to {self.model}: {exc}") from None
            except RuntimeError as exc:
                raise ProviderError(f"llama.cpp failed while generating with {self.model}: {exc}") from None
            stats = loaded.llm.stats
        log.debug(
            "%s: %d prompt tokens (%d from cache), %d generated",
            self.model,
            stats.prompt,
            stats.reused,
            stats.completion,
        )
        return Completion(
            text="".join(parts),
            usage=Usage(prompt_tokens=stats.prompt, completion_tokens=stats.completion),
            model=self.model,
            finish_reason=finish_reason,
        )

    def _fit(self, loaded: LoadedModel, request: ChatRequest) -> int:
        """``max_tokens`` capped to the room the prompt leaves, or ``PromptTooLong`` when too little is left."""
        prompt = loaded.prompt_tokens(request.messages)
        room = loaded.n_ctx - prompt
        if room < min(request.max_tokens, MIN_ROOM):
            raise PromptTooLong(
                f"the prompt is {prompt:,} tokens and {min(request.max_tokens, MIN_ROOM):,} more are needed for the "
                f"answer, but {self.model} runs with a {loaded.n_ctx:,}-token context "
                f"(setting llm.context_length); raise it or shorten the prompt"
            )
        return min(request.max_tokens, room)
