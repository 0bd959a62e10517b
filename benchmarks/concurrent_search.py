#!/usr/bin/env python3
"""Hybrid searches from several clients at once, through papersift's service layer, on a
finished scale build: throughput and per-search latency by number of concurrent clients.

A lab's server answers its users' searches on threads of one process (uvicorn's thread pool),
so a search's C-level parts must release the GIL for another search's Python to run meanwhile.
usearch's search held it until 2.23 and releases it since 2.25 (papersift pins 2.25.3); this
script shows what that is worth, side by side in one run: ``--also NAME=DIR`` adds a variant
whose imports come first from DIR (e.g. an older usearch put there by
``pip install --no-deps --target DIR usearch==2.21.0``). Variants alternate round by round,
each in a fresh process, so a busy machine slows them alike.

Usage::

    python benchmarks/concurrent_search.py --size 2.7m [--clients 1,2,4] [--rounds 2]
        [--also usearch-2.21.0=/tmp/us2.21.0] [--json OUT]

Prints a table and writes JSON (default ``benchmarks/results/concurrent-search-<size>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scale_report import machine, print_header, print_row, save_rounds

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def worker(size: str, clients: list[int], queries: int) -> dict[str, Any]:
    """One variant in this process: ``queries`` hybrid searches per client count, shared out
    to that many threads; each search pays for its query embedding."""
    import onnxruntime  # noqa: F401  # isort: skip  (before usearch: DESIGN.md import-order crash)
    import usearch
    from scale_measure import warm_service

    from papersift.service import catalog as catalog_module
    from papersift.service import searching

    catalog, texts = warm_service(size)
    out: dict[str, Any] = {"usearch": usearch.__version__, "by_clients": {}}

    def search(q: str) -> None:
        searching.search(catalog, q, mode="hybrid")

    for n in clients:
        catalog_module._QUERY_CACHE.clear()
        out["by_clients"][str(n)] = _load(search, texts[20 : 20 + queries], n)
    return out


def _load(search: Callable[[str], None], queries: list[str], clients: int) -> dict[str, float]:
    """``queries`` shared out to ``clients`` threads that each search one at a time."""
    todo = list(reversed(queries))
    lock = threading.Lock()
    latencies: list[float] = []

    def run() -> None:
        while True:
            with lock:
                if not todo:
                    return
                q = todo.pop()
            t = time.perf_counter()
            search(q)
            latencies.append((time.perf_counter() - t) * 1000)

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    v = np.array(latencies)
    return {
        "searches_per_s": round(len(v) / wall, 2),
        "p50_ms": round(float(np.percentile(v, 50)), 1),
        "p95_ms": round(float(np.percentile(v, 95)), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", default="100k", help="a finished `scale.py run` build")
    ap.add_argument("--clients", default="1,2,4")
    ap.add_argument("--queries", type=int, default=160, help="searches per client count")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--also", action="append", default=[], help="NAME=DIR: another variant")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    if args.worker:
        print(json.dumps(worker(args.size, clients, args.queries)))
        return
    variants = {"papersift's pins": ""}
    for spec in args.also:
        name, _, path = spec.partition("=")
        variants[name] = str(Path(path).resolve())
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, prefix in variants.items():
            env = dict(os.environ)
            paths = [p for p in (prefix, str(HERE), env.get("PYTHONPATH", "")) if p]
            env["PYTHONPATH"] = os.pathsep.join(paths)
            cmd = [sys.executable, __file__, "--worker", "--size", args.size]
            cmd += ["--clients", args.clients, "--queries", str(args.queries)]
            done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}: {name} done", file=sys.stderr)
    rows = []
    for name, results in runs.items():
        for n in clients:
            per = [res["by_clients"][str(n)] for res in results]
            rows.append(
                {
                    "variant": name,
                    "usearch": results[0]["usearch"],
                    "clients": n,
                    # the median round of each figure
                    **{k: float(np.median([p[k] for p in per])) for k in per[0]},
                }
            )
    base = {row["clients"]: row for row in rows if row["variant"] == "papersift's pins"}
    print(
        f"\n{args.size} papers, {os.cpu_count()} cores, {machine()['cpu']}, "
        f"load {os.getloadavg()[0]:.2f}; median of {args.rounds} rounds, "
        f"{args.queries} hybrid searches per row"
    )
    print_header(
        ["variant", "usearch", "clients", "searches/s", "p50 ms", "p95 ms", "searches/s vs pins"]
    )
    for row in rows:
        ratio = row["searches_per_s"] / base[row["clients"]]["searches_per_s"]
        print_row(
            [row["variant"], row["usearch"], str(row["clients"])]
            + [f"{row[k]:.1f}" for k in ("searches_per_s", "p50_ms", "p95_ms")]
            + [f"{ratio:.2f}"]
        )
    out = args.json or RESULTS / f"concurrent-search-{args.size}.json"
    save_rounds(out, args.size, runs, rows)


if __name__ == "__main__":
    main()
