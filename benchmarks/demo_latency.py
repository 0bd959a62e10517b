#!/usr/bin/env python3
"""Ingest rate and query latency on the bundled demo corpus, side by side for every mode.

Measures, in one run on this machine:
- ingest rate of the demo records (parse, clean, dedup, store, keyword index; vectors imported),
- embedding rate of the shipped ONNX encoder on demo abstracts (a sample),
- in-process query latency p50/p95/p99 per mode (keyword, semantic, hybrid) over 200 queries
  (100 demo titles as queries, 100 short phrases cut from abstracts),
- cold-process wall time of `papersift search` (import, open the store, load the encoder, search).

Usage: python benchmarks/demo_latency.py [--json OUT] [--runs 5]
Prints a table; timings are relative to this machine (see the printed CPU count).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from papersift.config import Settings
from papersift.demo import demo_records, load_demo
from papersift.service import searching
from papersift.service.catalog import Catalog
from papersift.store.papers import embed_text


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def queries(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    records = list(demo_records())
    picked = rng.sample(records, n)
    out = [r.title for r in picked[: n // 2]]
    for r in picked[n // 2 :]:
        words = r.abstract.split()
        start = rng.randrange(max(1, len(words) - 6))
        out.append(" ".join(words[start : start + rng.randint(2, 5)]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=5, help="cold CLI runs")
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "demo"
        catalog = Catalog(Settings(data_dir=data_dir, search_rate_per_minute=0))
        n_records = sum(1 for _ in demo_records())
        t = time.perf_counter()
        load_demo(catalog)
        secs = time.perf_counter() - t
        rows.append(
            {
                "what": "ingest demo (store + keyword index + vector import)",
                "n": n_records,
                "seconds": round(secs, 2),
                "rate_per_s": round(n_records / secs, 1),
            }
        )

        sample = [embed_text(r.title, r.abstract) for r in list(demo_records())[:128]]
        encoder = catalog.encoder
        encoder.encode(sample[:8])
        t = time.perf_counter()
        encoder.encode(sample)
        secs = time.perf_counter() - t
        rows.append(
            {
                "what": "embed abstracts (ONNX int8 MiniLM, CPU)",
                "n": len(sample),
                "seconds": round(secs, 2),
                "rate_per_s": round(len(sample) / secs, 1),
            }
        )

        qs = queries(200)
        for mode in ("keyword", "semantic", "hybrid"):
            searching.search(catalog, qs[0], mode=mode)  # warm caches once
            times = []
            for q in qs:
                t = time.perf_counter()
                searching.search(catalog, q, mode=mode, page_size=20)  # type: ignore[arg-type]
                times.append((time.perf_counter() - t) * 1000)
            rows.append(
                {
                    "what": f"query {mode} (in process, incl. query embedding)",
                    "n": len(qs),
                    "p50_ms": round(pct(times, 50), 1),
                    "p95_ms": round(pct(times, 95), 1),
                    "p99_ms": round(pct(times, 99), 1),
                }
            )
        catalog.close()

        cli = [sys.executable, "-m", "papersift.cli", "--data-dir", str(data_dir), "search"]
        for mode in ("keyword", "hybrid"):
            walls = []
            for i in range(args.runs):
                t = time.perf_counter()
                subprocess.run(
                    [*cli, qs[i], "--mode", mode, "-n", "10"], check=True, capture_output=True
                )
                walls.append((time.perf_counter() - t) * 1000)
            rows.append(
                {
                    "what": f"cold `papersift search --mode {mode}`",
                    "n": args.runs,
                    "p50_ms": round(statistics.median(walls), 1),
                    "p95_ms": round(max(walls), 1),
                }
            )

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{'measurement':<58} {'n':>5} {'rate/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(
            f"{r['what']:<58} {r['n']:>5} {r.get('rate_per_s', ''):>8} {r.get('p50_ms', ''):>8} "
            f"{r.get('p95_ms', ''):>8} {r.get('p99_ms', ''):>8}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
