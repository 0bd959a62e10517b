"""The bundled demo corpus: ~3,000 real papers with precomputed MiniLM vectors.

Built by ``scripts/build_demo.py`` from the arXiv snapshot sample, the arXiv CSV sample, the
saved listing pages and 65 Hugging Face daily lists (metadata only). Shipping the vectors means
`papersift demo` is ready in seconds on a laptop instead of minutes of CPU embedding.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np

from papersift.records import PaperRecord
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest

DEMO_DIR = Path(__file__).parent / "data" / "demo"
PAPERS = DEMO_DIR / "papers.jsonl.gz"
VECTORS = DEMO_DIR / "vectors.npz"


def record_to_json(r: PaperRecord) -> str:
    d = asdict(r)
    for key in ("published", "updated"):
        if d[key] is not None:
            d[key] = d[key].isoformat()
    return json.dumps(d, ensure_ascii=False)


def record_from_json(line: str) -> PaperRecord:
    d = json.loads(line)
    for key in ("published", "updated"):
        if d.get(key):
            d[key] = date.fromisoformat(d[key])
    return PaperRecord(**d)


def demo_records(path: Path = PAPERS) -> Iterator[PaperRecord]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield record_from_json(line)


def load_demo(catalog: Catalog, *, papers: Path = PAPERS, vectors: Path = VECTORS) -> str:
    """Ingest the demo corpus and its vectors; safe to run again (nothing is duplicated)."""
    report = ingest(catalog, demo_records(papers), source="demo", location=str(papers), embed=False)
    imported = 0
    if vectors.exists():
        data = np.load(vectors, allow_pickle=False)
        if str(data["model_id"]) == catalog.model_id:
            imported = catalog.import_vectors(
                [str(i) for i in data["ids"]], data["vectors"].astype(np.float32)
            )
    synced = catalog.sync(embed=True)
    return (
        f"{report.read} papers ({report.inserted} new, {report.updated} updated), "
        f"{imported} precomputed vectors, {synced.get('embedded', 0)} embedded now"
    )
