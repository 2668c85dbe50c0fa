"""Dense vectors for chunks, from an embedding model that runs here, with no network and no torch.

The model is WordLlama's ``l2_supercat`` at 256 dimensions (MIT licence), a static embedding: one
vector per token of the Llama 2 tokenizer, averaged over a text. Its weights (16 MB) and tokenizer
ship inside the ``wordllama`` wheel on PyPI (the ``kb`` extra pins the version), and their sha256
are checked here before use. Only the files are used: the package's loader can fall back to a
download from a model hub and configures logging on import, so neither runs. The vectors are
computed with numpy; ``tokenizers`` (a wordllama dependency, Rust, no torch) splits the text.

The model learned from English text; Chinese is mostly split into single characters or bytes,
so for Chinese the full-text half of the hybrid does the work (see the retrieval benchmark).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agentco.errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    import numpy as np

WORDLLAMA_VERSION = "0.4.0.post1"
WEIGHTS = ("weights/l2_supercat_256.safetensors", "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5")
TOKENIZER = (
    "tokenizers/l2_supercat_tokenizer_config.json",
    "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68",
)


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    @property
    def name(self) -> str:
        """Names the model and its version: vectors stored under another name are made again."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class WordLlamaEmbedder:
    name = f"wordllama-l2_supercat-256@{WORDLLAMA_VERSION}"

    def __init__(self, table: np.ndarray, tokenizer: object):
        self._table = table  # (vocabulary, 256) float32
        self._tokenizer = tokenizer

    @classmethod
    def load(cls, root: Path) -> WordLlamaEmbedder:
        from tokenizers import Tokenizer

        weights = _verified(root / WEIGHTS[0], WEIGHTS[1])
        tokenizer = Tokenizer.from_str(_verified(root / TOKENIZER[0], TOKENIZER[1]).decode("utf-8"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return cls(_safetensor(weights, "embedding.weight"), tokenizer)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)  # type: ignore[attr-defined]
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                out[row] = self._table[encoding.ids].mean(axis=0)
        return normalized(out)


def normalized(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def _verified(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the embedding model's {path.name}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ConfigError(
            f"{path} is not the file agentco was checked with (sha256 differs); "
            f"install wordllama=={WORDLLAMA_VERSION}: pip install 'agentco[kb]'"
        )
    return data


def _safetensor(data: bytes, key: str) -> np.ndarray:
    """One tensor of a safetensors file: an 8-byte header length, a JSON header, then the raw data."""
    import numpy as np

    length = int.from_bytes(data[:8], "little")
    info = json.loads(data[8 : 8 + length])[key]
    start, end = (8 + length + offset for offset in info["data_offsets"])
    dtype = {"F16": np.float16, "F32": np.float32}[info["dtype"]]
    return np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"]).astype(np.float32)


def wordllama_root() -> Path | None:
    """Where the installed wordllama package keeps its files, found without importing it."""
    from importlib.util import find_spec

    spec = find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations or find_spec("tokenizers") is None:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def default_embedder() -> Embedder | None:
    """The packaged model when the ``kb`` extra is installed, else None (full-text search only)."""
    root = wordllama_root()
    return None if root is None else WordLlamaEmbedder.load(root)


def require_embedder() -> Embedder:
    embedder = default_embedder()
    if embedder is None:
        raise MissingExtraError("wordllama (the embedding model for hybrid search)", "kb")
    return embedder
