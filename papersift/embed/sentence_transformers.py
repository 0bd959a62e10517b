"""Optional backend: any sentence-transformers model on CPU or GPU (extra `papersift[torch]`).

Used for the GPU batch path and for models other than the shipped one. Loading by hub name needs
network access the first time; tests use only the locally shipped model directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from papersift.embed.encoder import EncoderError, normalize_rows


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
        self.dim = int(self.model.get_sentence_embedding_dimension() or 0)
        base = name_or_path.rstrip("/").split("/")[-1]
        # The shipped model under its upstream name shares the ONNX encoder's vector space.
        self.model_id = "all-MiniLM-L6-v2" if "all-minilm-l6-v2" in base.lower() else base

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
