#!/usr/bin/env python3
"""Embedding throughput of every encoder papersift ships, side by side in one run.

Usage: python benchmarks/embed_throughput.py [--n 20000] [--n-transformer 512] [--json OUT]
       [--torch-cpu]

Rows: the int8 ONNX MiniLM on the CPU (the default encoder), the static model on the CPU in one
process and with one worker process per core (its default for 8,192 texts or more; the warm-up
call of that row starts the workers, and its time is printed apart), and,
where torch sees a CUDA GPU (extra ``papersift[torch]``), the GPU batch path in fp16;
``--torch-cpu`` adds the torch path on the CPU (slow: a correctness check, not a way to embed).
The row "GPU path, host side only" runs the GPU path's own pipeline (tokenising the next chunk
on a thread, length-sorted token-budget batches, padding, results written back in order) with
the model replaced by a no-op, on this machine's CPUs: the rate a host must sustain to keep a
GPU fed, measurable without a GPU or torch.
Texts are distinct real arXiv titles + abstracts (``shared/data/arxiv-large``, else the small
arXiv sample, repeated), embedded as papersift embeds papers. Each encoder is loaded and warmed
on 64 texts outside the clock. Printed per row: abstracts/s (wall), CPU seconds per 1,000
abstracts (a figure that a busy shared machine disturbs less), tokens/s, padding waste, and
the load average, since timings on a shared machine move with what else runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def arxiv_texts(n: int) -> tuple[list[str], str]:
    """``n`` distinct "title. abstract" texts and where they came from."""
    out: list[str] = []
    seen: set[str] = set()
    for tarball in sorted((SHARED / "arxiv-large").glob("*.tar.gz")):
        for rec in _tar_records(tarball):
            pid = str(rec.get("id", ""))
            if pid and pid not in seen and rec.get("summary"):
                seen.add(pid)
                out.append(" ".join(f"{rec.get('title', '')}. {rec['summary']}".split()))
                if len(out) >= n:
                    return out, f"{n} distinct arXiv abstracts (arxiv-large)"
    sample = SHARED / "arxiv-sample" / "arxiv_data_1000.csv"
    with sample.open(encoding="utf-8", newline="") as fh:
        base = [" ".join(f"{r['titles']}. {r['summaries']}".split()) for r in csv.DictReader(fh)]
    texts = out + base
    return (texts * (n // len(texts) + 1))[:n], f"{n} arXiv abstracts ({len(texts)} distinct)"


def _tar_records(path: Path) -> Iterator[dict[str, Any]]:
    with tarfile.open(path) as tar:
        for member in tar:
            fh = tar.extractfile(member) if member.name.endswith(".jsonl") else None
            for line in fh or ():
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(
    name: str, device: str, encoder: Any, texts: list[str], warmup: int = 64
) -> dict[str, Any]:
    """One timed ``encode`` of all ``texts`` after a warm-up call on the first ``warmup``.

    CPU seconds are this process's: worker processes (the static encoder's pool) are not in
    them, so rows that use workers leave the column empty.
    """
    t = time.perf_counter()
    encoder.encode(texts[:warmup])
    warm_s = time.perf_counter() - t
    stats = getattr(encoder, "stats", None)
    if stats is not None:
        stats.tokens = stats.padded_tokens = stats.batches = 0
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), cpu_seconds()
    vecs = encoder.encode(texts)
    wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    row: dict[str, Any] = {
        "encoder": name,
        "device": device,
        "model_id": encoder.model_id,
        "dim": int(vecs.shape[1]),
        "n": len(texts),
        "seconds": round(wall, 2),
        "abstracts_per_s": round(len(texts) / wall, 1),
        "cpu_s_per_1000": round(1000 * cpu / len(texts), 2),
        "load_avg_1m": round(load, 1),
        "warmup_s": round(warm_s, 2),
    }
    if getattr(encoder, "processes", 1) > 1 and len(texts) >= warmup:
        row["processes"] = encoder.processes
        row["cpu_s_per_1000"] = None
    if stats is not None and stats.padded_tokens:
        row["tokens_per_s"] = round(stats.tokens / wall)
        row["padding_waste"] = round(stats.padding_waste, 3)
    return row


class HostSideOnly:
    """The GPU batch path with the model taken out (see the module docstring)."""

    model_id = "all-MiniLM-L6-v2 (no model)"

    def __init__(self) -> None:
        from papersift.embed.batching import BatchStats
        from papersift.embed.gpu import MAX_TOKENS, TorchMiniLM
        from papersift.embed.modelfiles import minilm_tokenizer

        self.tokenizer = minilm_tokenizer(MAX_TOKENS)
        # TorchMiniLM's own defaults, read from its signature so the two cannot drift apart.
        defaults = TorchMiniLM.__init__.__kwdefaults__ or {}
        self.max_batch = int(defaults["max_batch"])
        self.max_tokens = int(defaults["max_tokens"])
        self.chunk_size = int(defaults["chunk_size"])
        self.stats = BatchStats()

    def encode(self, texts: list[str]) -> Any:
        import numpy as np

        from papersift.embed.batching import encode_pipelined
        from papersift.embed.modelfiles import token_ids

        return encode_pipelined(
            texts,
            tokenize=lambda chunk: token_ids(self.tokenizer, chunk),
            run=lambda ids, mask: np.zeros((len(ids), 384), dtype=np.float32),
            dim=384,
            max_batch=self.max_batch,
            max_tokens=self.max_tokens,
            chunk_size=self.chunk_size,
            stats=self.stats,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20_000, help="abstracts for the fast encoders")
    ap.add_argument("--n-transformer", type=int, default=512, help="abstracts for ONNX on CPU")
    ap.add_argument("--n-gpu", type=int, default=100_000, help="abstracts for the GPU path")
    ap.add_argument("--torch-cpu", action="store_true", help="also run the torch path on CPU")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from papersift.embed.encoder import load_encoder
    from papersift.embed.static import PARALLEL_MIN, StaticMiniLM

    texts, source = arxiv_texts(max(args.n, args.n_transformer))
    pooled = StaticMiniLM()  # one worker per core; the warm-up call starts them
    rows = [
        measure("minilm-onnx", "cpu", load_encoder("minilm-onnx"), texts[: args.n_transformer]),
        measure("static-minilm, 1 process", "cpu", StaticMiniLM(processes=1), texts[: args.n]),
        measure(
            f"static-minilm, {pooled.processes} workers",
            "cpu",
            pooled,
            texts[: args.n],
            warmup=PARALLEL_MIN,
        ),
    ]
    pooled.close()
    rows.append(measure("GPU path, host side only", "cpu", HostSideOnly(), texts[: args.n]))
    gpu_note = "torch not installed (extra papersift[torch]): GPU path not measured"
    try:
        import torch

        if torch.cuda.is_available():
            gpu_texts = (texts * (args.n_gpu // len(texts) + 1))[: args.n_gpu]
            enc = load_encoder("minilm-onnx", device="cuda")
            rows.append(measure("minilm-onnx (torch fp16)", "cuda", enc, gpu_texts))
            gpu_note = torch.cuda.get_device_name(0)
        else:
            gpu_note = "torch sees no CUDA GPU: GPU path not measured"
        if args.torch_cpu:
            from papersift.embed.gpu import TorchMiniLM

            enc = TorchMiniLM(device="cpu", max_batch=64, max_tokens=16_384)
            rows.append(measure("minilm-onnx (torch fp32)", "cpu", enc, texts[:128]))
    except ImportError:
        pass

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; GPU: {gpu_note}"
    )
    print(f"texts: {source}")
    head = f"{'encoder':<26} {'device':<6} {'n':>7} {'abstracts/s':>12} {'CPU s/1k':>9}"
    print(f"{head} {'tokens/s':>9} {'pad':>6} {'load':>5}")
    for r in rows:
        print(
            f"{r['encoder']:<26} {r['device']:<6} {r['n']:>7} {r['abstracts_per_s']:>12} "
            f"{r['cpu_s_per_1000'] or '':>9} {r.get('tokens_per_s', ''):>9} "
            f"{r.get('padding_waste', ''):>6} {r['load_avg_1m']:>5}"
        )
    for r in rows:
        if r.get("processes"):
            print(f"{r['encoder']}: workers started by the warm-up call in {r['warmup_s']} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "gpu": gpu_note,
                "texts": source}  # fmt: skip
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
