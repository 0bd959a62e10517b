#!/usr/bin/env python3
"""Ingest rate and query latency on the bundled demo corpus, side by side for every mode.

Measures, in one run on this machine:
- ingest rate of the demo records (parse, clean, dedup, store, keyword index; vectors imported),
- embedding rate of the shipped ONNX encoder on demo abstracts (a sample),
- in-process query latency p50/p95/p99 per mode (keyword, semantic, hybrid) over 200 queries
  (100 demo titles as queries, 100 short phrases cut from abstracts),
- embedding rate of the static CPU encoder (``static-minilm``) on all demo abstracts,
- cold-process wall time of `papersift search` (import, open the store, load the encoder,
  with papersift's bytecode compiled first, as a user has it after one run or a wheel install,
  search): keyword; hybrid as the CLI runs it (the encoder loads on a thread while the store
  opens); hybrid with the encoder loaded serially, as the CLI did before (same service calls,
  run by a short script); and hybrid with the static encoder. The variants alternate run by run,
  so a busy machine slows them alike.

Usage: python benchmarks/demo_latency.py [--json OUT] [--runs 7]
Prints a table and writes it as JSON (default ``benchmarks/results/demo-latency.json``);
timings are relative to this machine (see the printed CPU count and load average).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import papersift
from papersift.config import Settings
from papersift.demo import demo_records, load_demo
from papersift.embed.encoder import load_encoder
from papersift.service import searching
from papersift.service.catalog import Catalog
from papersift.store.papers import embed_text

RESULTS = Path(__file__).resolve().parent / "results"
SERIAL = (
    "import sys\n"
    "from papersift.config import Settings\n"
    "from papersift.service import searching\n"
    "from papersift.service.catalog import Catalog\n"
    "c = Catalog(Settings(data_dir=sys.argv[1]))\n"
    "out = searching.search(c, sys.argv[2], mode='hybrid', page_size=10)\n"
    "print(out.total, [h.paper.title for h in out.hits])\n"
)


def children_cpu() -> float:
    """CPU seconds (user + system) of finished child processes: less moved by a busy machine."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


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
    ap.add_argument("--json", type=Path, default=RESULTS / "demo-latency.json")
    ap.add_argument("--runs", type=int, default=7, help="cold CLI runs per variant")
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

        static = load_encoder("static-minilm")
        texts = [embed_text(r.title, r.abstract) for r in demo_records()]
        static.encode(texts[:64])
        t = time.perf_counter()
        static.encode(texts)
        secs = time.perf_counter() - t
        rows.append(
            {
                "what": "embed abstracts (static-minilm, CPU)",
                "n": len(texts),
                "seconds": round(secs, 3),
                "rate_per_s": round(len(texts) / secs, 1),
            }
        )
        # The same data dir, embedded with the static encoder too (its own vector index).
        static_catalog = Catalog(Settings(data_dir=data_dir, encoder="static-minilm"))
        static_catalog.sync(embed=True)
        static_catalog.close()

        qs = queries(200)
        for mode in ("keyword", "semantic", "hybrid"):
            searching.search(catalog, qs[0], mode=mode)  # warm caches once
            times = []
            for q in qs:
                t = time.perf_counter()
                searching.search(catalog, q, mode=mode, page_size=20)
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

        # A user's Python reads papersift's compiled bytecode from the second run on (a wheel
        # install compiles it; any first import writes it). Where PYTHONDONTWRITEBYTECODE is
        # set, as on this development machine, every cold run would recompile ~100 modules.
        compileall.compile_dir(str(Path(papersift.__file__).parent), quiet=1)
        cli = [sys.executable, "-m", "papersift.cli", "--data-dir", str(data_dir)]
        variants = {
            "cold `papersift search --mode keyword`": lambda q: [*cli, "search", q, "--mode",
                                                                 "keyword"],
            "cold `papersift search` (hybrid)": lambda q: [*cli, "search", q],
            "cold hybrid, encoder loaded serially (before)": lambda q: [sys.executable, "-c",
                                                                        SERIAL, str(data_dir), q],
            "cold `papersift --encoder static-minilm search`": lambda q: [
                *cli[:3], "--data-dir", str(data_dir), "--encoder", "static-minilm", "search", q],
        }  # fmt: skip
        walls: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        for i in range(args.runs):
            for name, argv in variants.items():  # interleaved: load drifts hit all alike
                c = children_cpu()
                t = time.perf_counter()
                subprocess.run(argv(qs[i]), check=True, capture_output=True)
                walls[name].append((time.perf_counter() - t) * 1000)
                cpus[name].append((children_cpu() - c) * 1000)
        for name, ms in walls.items():
            rows.append(
                {
                    "what": name,
                    "n": args.runs,
                    "p50_ms": round(statistics.median(ms), 1),
                    "p95_ms": round(max(ms), 1),
                    "min_ms": round(min(ms), 1),
                    "cpu_ms": round(statistics.median(cpus[name]), 1),
                }
            )

    load = os.getloadavg()
    machine = (
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(f"machine: {machine}")
    print(
        f"{'measurement':<58} {'n':>5} {'rate/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'min ms':>8} {'CPU ms':>8}"
    )
    for r in rows:
        print(
            f"{r['what']:<58} {r['n']:>5} {r.get('rate_per_s', ''):>8} {r.get('p50_ms', ''):>8} "
            f"{r.get('p95_ms', ''):>8} {r.get('p99_ms', ''):>8} {r.get('min_ms', ''):>8} "
            f"{r.get('cpu_ms', ''):>8}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
