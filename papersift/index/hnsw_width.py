"""How wide the HNSW graph is built and searched, and the record of how a graph was built.

A graph built wider (``expansion_add``) is better connected, so a search reaches the same
recall with a narrower beam: at 2.7M papers, built with 128 a search needs ef 1536 for recall@10
0.95, built with 64 it needs 3136 (``benchmarks/scale.py tune``, session 13). The search width
therefore depends on how the graph was built, and usearch does not store that in its file:
a small JSON file beside the graph does. A graph without one was built by an earlier papersift
with 64, and is searched as such until ``papersift reindex --vectors-only`` (or a whole
``reindex``) rebuilds it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# Tuned with benchmarks/scale.py (README "Scale"): recall@10 against exact search, with the
# re-rank, on MiniLM-like vectors and title queries. connectivity 16 keeps the mapped graph at 548
# bytes/paper (budget 600; 24 would add 64 bytes of links).
CONNECTIVITY = 16
# Built with 128: 100k ef 192 0.954; 2.7M ef 1536 0.9535 at 12.6 ms p50, where the graph built
# with 64 needs ef 3136 for 0.9485 at 20.4 ms (one run, both graphs); the build takes 1.8x as long.
EF_ADD = 128
EF_SEARCH = 192  # at 100k papers and fewer
EF_CURVE = (EF_SEARCH, 0.6309)  # ef = 192 * (n / 100k) ** 0.6309: 192, 832 and 1536
# Built with 64 (papersift before session 13), on session 7's corpus (vectors of recent ML
# papers, a paper's 10th neighbour at cosine 0.58): 100k ef 256 0.948, 384 0.961; 1M ef 1024
# 0.943, 1376 0.956; 2.7M ef 2048 0.937, 3072 0.951: ef = 320 * (n / 100k) ** 0.69.
LEGACY_EF_ADD = 64
LEGACY_EF_CURVE = (320, 0.69)
EF_SEARCH_MAX = 4096


def expansion_search_for(n: int, built_with: int = EF_ADD) -> int:
    """The search width (ef) that kept recall@10 >= 0.95 at n papers, in steps of 32, for a
    graph built with ``built_with``."""
    base, power = EF_CURVE if built_with >= EF_ADD else LEGACY_EF_CURVE
    ef = base * max(1.0, n / 100_000) ** power
    return int(min(EF_SEARCH_MAX, -(-ef // 32) * 32))


def record_path(graph: Path) -> Path:
    return graph.with_suffix(".build.json")


def read_built_with(graph: Path) -> int:
    """The ``expansion_add`` the graph file was built with (an unrecorded one: 64)."""
    try:
        return int(json.loads(record_path(graph).read_text())["expansion_add"])
    except (OSError, ValueError, KeyError, TypeError):
        return LEGACY_EF_ADD


def write_built_with(graph: Path, built_with: int) -> None:
    """Record it, whole or not at all (written aside, then renamed), after the graph file: a
    crash between the two leaves a graph searched wider than it needs, never narrower."""
    path = record_path(graph)
    tmp = path.with_suffix(".tmp-build")
    tmp.write_text(json.dumps({"expansion_add": built_with, "connectivity": CONNECTIVITY}))
    os.replace(tmp, path)
