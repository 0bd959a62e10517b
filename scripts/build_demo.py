#!/usr/bin/env python3
"""Rebuild the bundled demo corpus (papersift/data/demo/) from ../shared/data.

Sources: the arXiv metadata snapshot sample (200), the arXiv ML CSV sample (1,000), the saved
listing pages (631) and the Hugging Face daily-papers responses (1,251 papers over 65 days, with
their listing days, upvotes and code links, so the daily and trending pages have real content;
paper metadata only, never submitters' profiles). Records are parsed and cleaned by papersift's
own ingest code, deduplicated by papersift's identity rules, written as JSON lines, and embedded
once with the shipped MiniLM encoder so the demo starts without minutes of CPU embedding.

Usage: python scripts/build_demo.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from papersift.config import Settings
from papersift.demo import DEMO_DIR, load_demo, record_to_json
from papersift.ingest.normalize import InvalidRecord, clean_record
from papersift.ingest.sources import parse_file
from papersift.records import PaperRecord, ParseProblem
from papersift.service.catalog import Catalog
from papersift.store import embeddings as emb
from papersift.store.papers import iter_papers

# Facts about a paper worth keeping in the demo (counts and the day HF listed it).
KEEP_EXTRA = ("hf_upvotes", "hf_daily_date", "github_stars", "num_comments")


def parsed(shared: Path) -> list[PaperRecord]:
    data = shared / "data"
    inputs = [
        ("arxiv-snapshot", data / "arxiv-sample" / "arxiv-metadata-oai-snapshot_first200.jsonl"),
        ("csv", data / "arxiv-sample" / "arxiv_data_1000.csv"),
        *[("listing-page", p) for p in sorted((data / "listing-pages").glob("*.txt"))],
        *[("hf-daily", p) for p in sorted((data / "hf-daily").glob("*.json"))],
    ]
    out: list[PaperRecord] = []
    for source, path in inputs:
        n = 0
        for item in parse_file(source, path):
            if isinstance(item, ParseProblem):
                print(f"  skipped {item}", file=sys.stderr)
                continue
            try:
                out.append(clean_record(item))
                n += 1
            except InvalidRecord as exc:
                print(f"  skipped {path.name}: {exc}", file=sys.stderr)
        print(f"{path.name}: {n} records")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared"
    )
    args = ap.parse_args()
    records = parsed(args.shared)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Land everything in a scratch catalogue so dedup follows the store's own rules.
        catalog = Catalog(Settings(data_dir=Path(tmp)))
        staged = Path(tmp) / "staged.jsonl.gz"
        with gzip.open(staged, "wt", encoding="utf-8") as f:
            for r in records:
                f.write(record_to_json(r) + "\n")
        started = time.perf_counter()
        # Vectors of papers already in the shipped demo are reused; only new papers are embedded.
        print(load_demo(catalog, papers=staged, vectors=DEMO_DIR / "vectors.npz"))
        print(f"embedded in {time.perf_counter() - started:.0f}s")
        ids: list[str] = []
        blobs = []
        with (
            catalog.store.session() as s,
            gzip.open(DEMO_DIR / "papers.jsonl.gz", "wt", encoding="utf-8") as f,
        ):
            for p in iter_papers(s):
                rec = PaperRecord(
                    title=p.title, abstract=p.abstract, authors=p.authors, source="demo",
                    arxiv_id=p.arxiv_id, version=p.arxiv_version, doi=p.doi,
                    categories=p.categories, published=p.published, updated=p.updated,
                    comment=p.comment, journal_ref=p.journal_ref, abs_url=p.abs_url,
                    pdf_url=p.pdf_url, code_urls=p.code_urls,
                    extra={k: v for k, v in (p.extra or {}).items() if k in KEEP_EXTRA},
                )  # fmt: skip
                f.write(record_to_json(rec) + "\n")
                ids.append(p.id)
                _, vec = emb.get_vectors(s, catalog.model_id, [p.num], catalog.dim)
                blobs.append(vec[0])
        np.savez_compressed(
            DEMO_DIR / "vectors.npz",
            ids=np.array(ids),
            vectors=np.vstack(blobs).astype(np.float16),
            model_id=np.array(catalog.model_id),
        )
        print(f"wrote {len(ids)} papers to {DEMO_DIR}")


if __name__ == "__main__":
    main()
