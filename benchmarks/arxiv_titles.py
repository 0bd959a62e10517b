#!/usr/bin/env python3
"""A second relevance set from another domain than SciFact: real arXiv titles -> their abstracts.

SciFact is biomedical, and papersift's fusion settings and rerank were chosen on its train split.
This set checks those defaults where they were not fitted: computer science and physics papers
of 2025-2026 (``../shared/data/arxiv-large``, read by ``scale.real_records``), each query a
paper's real title and its one relevant document that paper's abstract, with the title taken
away. papersift needs a title on every record, so a document's title is the first sentence of
its abstract and its text the rest; nothing of the real title is left in the corpus.

Usage::

    python benchmarks/arxiv_titles.py [--papers 5000] [--queries 500] [--out DIR]
    python benchmarks/relevance.py benchmarks/.cache/arxiv-titles --json OUT

Papers are drawn in ``real_records``' seeded order (the same files give the same set); those
with abstracts under 400 characters or of one sentence are skipped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from scale import real_records

BENCH_DIR = Path(__file__).resolve().parent
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def split_first_sentence(abstract: str) -> tuple[str, str] | None:
    """(first sentence, the rest), or None where the abstract has only one sentence."""
    parts = SENTENCE_END.split(abstract, maxsplit=1)
    if len(parts) < 2 or len(parts[0]) < 20 or len(parts[1]) < 200:
        return None
    return parts[0], parts[1]


def write_set(out: Path, papers: int, queries: int) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    corpus: list[dict[str, str]] = []
    titles: list[tuple[str, str]] = []
    for rec in real_records():
        if len(corpus) >= papers:
            break
        split = split_first_sentence(rec["abstract"]) if len(rec["abstract"]) >= 400 else None
        if split is None:
            continue
        corpus.append({"_id": rec["id"], "title": split[0], "text": split[1]})
        titles.append((rec["id"], rec["title"]))
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for doc in corpus:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    asked = titles[:queries]
    with (out / "queries.jsonl").open("w", encoding="utf-8") as f:
        for n, (_, title) in enumerate(asked):
            f.write(json.dumps({"_id": f"q{n}", "text": title}, ensure_ascii=False) + "\n")
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for n, (pid, _) in enumerate(asked):
            f.write(f"q{n}\t{pid}\t1\n")
    return {"papers": len(corpus), "queries": len(asked)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--papers", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--out", type=Path, default=BENCH_DIR / ".cache" / "arxiv-titles")
    args = ap.parse_args(argv)
    if not 0 < args.queries <= args.papers:
        ap.error("need 0 < --queries <= --papers")
    counts = write_set(args.out, args.papers, args.queries)
    print(f"wrote {counts['papers']} papers and {counts['queries']} queries to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
