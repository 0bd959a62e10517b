"""The one encoder interface every search and indexing path uses, and how to pick one.

An encoder turns texts into L2-normalised float32 rows. ``model_id`` names the vector space: a
cached embedding is only reused by an encoder with the same ``model_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    model_id: str
    dim: int

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray: ...


class EncoderError(RuntimeError):
    """A model file is missing, corrupt (checksum) or its backend is not installed."""


def normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def load_encoder(name: str = "minilm-onnx", *, device: str = "cpu") -> Encoder:
    """``minilm-onnx`` (default, shipped, no torch) or ``st:<model name or path>``.

    The sentence-transformers backend is imported only when asked for, so the default CLI
    start-up never pays for torch.
    """
    if name == "minilm-onnx":
        from papersift.embed.onnx_minilm import OnnxMiniLM

        return OnnxMiniLM()
    if name.startswith("st:"):
        from papersift.embed.sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(name.removeprefix("st:"), device=device)
    raise EncoderError(f"unknown encoder {name!r}: use 'minilm-onnx' or 'st:<model>'")
