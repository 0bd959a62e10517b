"""The one encoder interface every search and indexing path uses, and how to pick one.

An encoder turns texts into L2-normalised float32 rows. ``model_id`` names the vector space: a
cached embedding is only reused by an encoder with the same ``model_id``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
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


ENCODERS = ("minilm-onnx", "static-minilm", "st:<model>")


def encoder_model_id(name: str) -> tuple[str, int]:
    """``(model_id, dim)`` an encoder name will produce, without loading any model.

    The catalog needs these to open the right vector index and cache before (or without) a
    model being loaded: keyword-only work never pays for one.
    """
    if name == "minilm-onnx":
        return "all-MiniLM-L6-v2", 384
    if name == "static-minilm":
        from papersift.embed.static import DIM, MODEL_ID

        return MODEL_ID, DIM
    if name.startswith("st:"):
        return name.removeprefix("st:"), 384
    raise EncoderError(f"unknown encoder {name!r}: use one of {', '.join(ENCODERS)}")


def load_encoder_in_background(name: str, *, device: str = "cpu") -> Future[Encoder]:
    """Start :func:`load_encoder` on a daemon thread and return its future.

    onnxruntime builds its session with the GIL released, so a cold ``papersift search`` loads
    the model on one core while the other imports and opens the store. A load error is raised
    where the result is asked for, as a plain load would raise it.
    """
    future: Future[Encoder] = Future()

    def work() -> None:
        try:
            future.set_result(load_encoder(name, device=device))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name="load-encoder", daemon=True).start()
    return future


def load_encoder(name: str = "minilm-onnx", *, device: str = "cpu") -> Encoder:
    """``minilm-onnx`` (default, shipped, no torch), ``static-minilm`` (shipped, fast CPU path)
    or ``st:<model name or path>`` (sentence-transformers, extra ``torch``).

    ``device="cuda"`` with ``minilm-onnx`` selects the GPU batch path: the same model under torch
    in fp16 (extra ``torch``), in the same vector space. Torch is imported only when asked for,
    so the default CLI start-up never pays for it.
    """
    if name == "minilm-onnx":
        if device != "cpu":
            from papersift.embed.gpu import TorchMiniLM

            return TorchMiniLM(device=device)
        from papersift.embed.onnx_minilm import OnnxMiniLM

        return OnnxMiniLM()
    if name == "static-minilm":
        if device != "cpu":
            raise EncoderError("static-minilm runs on the CPU only (it is a table look-up)")
        from papersift.embed.static import StaticMiniLM

        return StaticMiniLM()
    if name.startswith("st:"):
        from papersift.embed.sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(name.removeprefix("st:"), device=device)
    raise EncoderError(f"unknown encoder {name!r}: use one of {', '.join(ENCODERS)}")
