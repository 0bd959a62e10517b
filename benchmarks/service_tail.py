#!/usr/bin/env python3
"""The slowest service searches of a long-running process, with and without the warm-up's
frozen heap (``papersift.service.warmup``), side by side on a finished scale build.

A server runs for days, so now and then a search pays for one of Python's full garbage
collections, which walk every object the process holds. This script runs the same hybrid
searches in two fresh processes per round, one warmed up as ``papersift serve`` is (model
loaded, one search, ``gc.freeze()``) and one only warmed by 20 searches, and reports the
latency tail and the time spent in full (generation 2) collections. Rounds alternate the two,
and which goes first, so a busy machine slows them alike.

Usage::

    python benchmarks/service_tail.py --size 2.7m [--passes 3] [--rounds 2] [--json OUT]

Prints a table and writes JSON (default ``benchmarks/results/service-tail-<size>.json``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scale_report import machine, print_header, print_row, save_rounds

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
VARIANTS = ("frozen heap (serve)", "no freeze")


def worker(size: str, freeze: bool, passes: int) -> dict[str, Any]:
    """``passes`` rounds of the 280 benchmark queries after the first 20, in this process."""
    from scale_measure import warm_service

    from papersift.service import catalog as catalog_module
    from papersift.service import searching
    from papersift.service.warmup import warm_up

    catalog, texts = warm_service(size)
    if freeze:
        warm_up(catalog)
    pauses: list[tuple[int, float]] = []
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append((info["generation"], (time.perf_counter() - started.pop()) * 1000))

    gc.callbacks.append(on_gc)
    latencies: list[float] = []
    for _ in range(passes):
        for t in texts[20:]:
            catalog_module._QUERY_CACHE.clear()  # every search pays for its query embedding
            t0 = time.perf_counter()
            searching.search(catalog, t, mode="hybrid")
            latencies.append((time.perf_counter() - t0) * 1000)
    gc.callbacks.remove(on_gc)
    full = [ms for g, ms in pauses if g == 2]
    v = np.array(latencies)
    return {
        "searches": len(v),
        **{f"p{q}_ms": round(float(np.percentile(v, q)), 1) for q in (50, 95, 99)},
        "max_ms": round(float(v.max()), 1),
        "full_collections": len(full),
        "full_collection_ms_total": round(sum(full), 1),
        "full_collection_ms_max": round(max(full, default=0.0), 1),
        "frozen_objects": gc.get_freeze_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", default="100k", help="a finished `scale.py run` build")
    ap.add_argument("--passes", type=int, default=3, help="passes over the 280 queries")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.size, args.worker == VARIANTS[0], args.passes)))
        return
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    for r in range(args.rounds):
        for name in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:  # neither always runs first
            cmd = [sys.executable, __file__, "--worker", name, "--size", args.size]
            cmd += ["--passes", str(args.passes)]
            done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}: {name}: {runs[name][-1]}", file=sys.stderr)
    keys = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "full_collections", "full_collection_ms_max")
    rows = [
        {"variant": name, **{k: float(np.median([res[k] for res in runs[name]])) for k in keys}}
        for name in VARIANTS
    ]
    print(
        f"\n{args.size} papers, {os.cpu_count()} cores, {machine()['cpu']}, "
        f"load {os.getloadavg()[0]:.2f}; median of {args.rounds} rounds of "
        f"{runs[VARIANTS[0]][0]['searches']} hybrid searches"
    )
    print_header(
        ["process", "p50 / p95 / p99 / max ms", "full collections", "slowest full collection ms"]
    )
    for row in rows:
        latency = " / ".join(f"{row[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
        print_row(
            [
                str(row["variant"]),
                latency,
                f"{row['full_collections']:.0f}",
                f"{row['full_collection_ms_max']:.1f}",
            ]
        )
    out = args.json or RESULTS / f"service-tail-{args.size}.json"
    save_rounds(out, args.size, runs, rows)


if __name__ == "__main__":
    main()
