"""A BEIR-layout data set, read and ingested through papersift's own parser and ingest.

Shared by ``relevance.py`` (the benchmark) and ``train_reranker.py``: the corpus goes in as any
user's JSONL would, and :class:`CorpusMap` says which corpus ids each resulting paper stands for,
since papersift's dedup may merge two documents into one paper.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from metrics import unique_in_order
from sqlalchemy import select
from tqdm import tqdm

from papersift.embed.modelfiles import sha256_file
from papersift.ids import title_key
from papersift.ingest import tabular
from papersift.ingest.normalize import InvalidRecord, clean_record
from papersift.records import PaperRecord, ParseItem
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest
from papersift.store.papers import different_abstracts
from papersift.store.schema import Paper

BENCH_DIR = Path(__file__).resolve().parent
CORPUS_MAPPING = {"title": "title", "abstract": "text"}


# --- the data set -----------------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    root: Path
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> corpus id -> grade


def load_queries(path: Path) -> dict[str, str]:
    """``_id`` -> text; BEIR query files carry extra keys (``metadata``) that are ignored."""
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                out[str(obj["_id"])] = str(obj.get("text") or "")
    return out


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels TSV; the header row is recognised by its non-numeric score column."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t")):
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{n + 1}: expected query-id, corpus-id, score: {row}")
            qid, did, score = row[0].strip(), row[1].strip(), row[2].strip()
            try:
                grade = int(float(score))
            except ValueError:
                if n == 0:
                    continue  # the header: query-id corpus-id score
                raise ValueError(f"{path}:{n + 1}: score {score!r} is not a number") from None
            qrels.setdefault(qid, {})[did] = grade
    return qrels


def load_dataset(root: Path, split: str) -> Dataset:
    corpus = root / "corpus.jsonl"
    qrels_path = root / "qrels" / f"{split}.tsv"
    for p in (corpus, root / "queries.jsonl", qrels_path):
        if not p.is_file():
            raise SystemExit(f"not a BEIR-layout directory: {p} is missing")
    return Dataset(
        name=root.resolve().name,
        root=root,
        corpus=corpus,
        queries=load_queries(root / "queries.jsonl"),
        qrels=load_qrels(qrels_path),
    )


# --- ingest and the paper -> corpus id map ----------------------------------------------------

FINGERPRINT_FILE = "corpus.sha256"


def default_data_dir(name: str, corpus: Path) -> Path:
    """``.cache/<name>``, unless it holds another corpus of the same name (another split's copy,
    an edited set): then ``.cache/<name>-<hash>``, so two corpora never share a store, where
    the papers of one would crowd the rankings of the other. The store keeps the hash it was
    built from."""
    fingerprint = sha256_file(corpus)
    data_dir = BENCH_DIR / ".cache" / name
    mark = data_dir / FINGERPRINT_FILE
    if mark.exists() and mark.read_text().strip() != fingerprint:
        data_dir = data_dir.with_name(f"{name}-{fingerprint[:10]}")
        mark = data_dir / FINGERPRINT_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not mark.exists():
        mark.write_text(fingerprint + "\n")
    return data_dir


@dataclass
class CorpusMap:
    """Which corpus ids each papersift paper stands for.

    papersift deduplicates by arXiv id, then DOI, then normalised title (unless the abstracts
    have nothing in common), so two corpus documents with the same title and abstract become one
    paper, and ``Paper.extra["source_id"]`` keeps only the last record's id (``_apply`` merges
    ``extra`` with later records winning). The map is therefore built here from the parsed
    records, matched the way papersift matches them, and a merged paper is scored as all of its
    corpus ids.
    """

    by_title: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (id, abstract)
    by_arxiv: dict[str, list[str]] = field(default_factory=dict)
    records: int = 0
    unusable: int = 0  # records papersift's cleaning refuses (ingest reports them as problems)
    without_id: int = 0

    def add(self, record: PaperRecord) -> None:
        self.records += 1
        try:
            cleaned = clean_record(record)  # the store keys on the cleaned title, so must we
        except InvalidRecord:
            self.unusable += 1
            return
        # The tabular parser reads ``_id`` as an arXiv id when it looks like one, else keeps it
        # in ``extra["source_id"]``.
        cid = record.extra.get("source_id") or record.arxiv_id
        if not cid:
            self.without_id += 1
            return
        if cleaned.arxiv_id:
            self.by_arxiv.setdefault(cleaned.arxiv_id, []).append(str(cid))
        else:
            entry = (str(cid), cleaned.abstract or "")
            self.by_title.setdefault(title_key(cleaned.title), []).append(entry)

    def track(self, items: Iterable[ParseItem]) -> Iterator[ParseItem]:
        """Pass parsed items through to ingest unchanged, noting each record on the way."""
        for item in items:
            if isinstance(item, PaperRecord):
                self.add(item)
            yield item

    def paper_map(self, catalog: Catalog) -> tuple[dict[str, list[str]], list[str]]:
        """Paper id -> corpus ids, plus warnings when the map and the store disagree."""
        out: dict[str, list[str]] = {}
        with catalog.store.session() as s:
            q = select(Paper.id, Paper.arxiv_id, Paper.title_key, Paper.abstract)
            rows = s.execute(q.order_by(Paper.num)).all()
        taken: set[str] = set()
        for pid, arxiv_id, tkey, abstract in rows:
            ids = list(self.by_arxiv.get(arxiv_id, [])) if arxiv_id else []
            for cid, text in self.by_title.get(tkey, []):
                if cid not in taken and not different_abstracts(abstract, text):
                    ids.append(cid)
                    taken.add(cid)
            out[pid] = unique_in_order(ids)
        warnings: list[str] = []
        assigned = [cid for ids in out.values() for cid in ids]
        expected = [cid for entries in self.by_title.values() for cid, _ in entries] + [
            cid for ids in self.by_arxiv.values() for cid in ids
        ]
        if len(assigned) != len(set(assigned)):
            warnings.append(f"{len(assigned) - len(set(assigned))} corpus ids map to two papers")
        lost = set(expected) - set(assigned)
        if lost:
            warnings.append(f"{len(lost)} corpus ids map to no paper, e.g. {sorted(lost)[:5]}")
        empty = sum(1 for ids in out.values() if not ids)
        if empty:
            warnings.append(f"{empty} papers in the store map to no corpus id")
        return out, warnings


class TqdmProgress:
    """papersift's ``progress(stage, done, total)`` callback drawn as one tqdm bar per stage.

    Also notes when each stage last reported, so the run can say how long embedding took.
    """

    def __init__(self) -> None:
        self.bars: dict[str, tqdm[Any]] = {}
        self.started = time.perf_counter()
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.bars:
            self.bars[stage] = tqdm(desc=stage, total=total or None, unit="doc", dynamic_ncols=True)
        bar = self.bars[stage]
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        self.last[stage] = time.perf_counter() - self.started

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def ingest_corpus(catalog: Catalog, dataset: Dataset, *, titles: bool = True) -> CorpusMap:
    """Ingest the corpus; without ``titles`` every document comes as FiQA's or Quora's do."""
    cmap = CorpusMap()
    progress = TqdmProgress()
    items: Iterable[ParseItem] = tabular.parse(dataset.corpus, fmt="jsonl", mapping=CORPUS_MAPPING)
    if not titles:
        items = (replace(i, title="") if isinstance(i, PaperRecord) else i for i in items)
    try:
        report = ingest(
            catalog,
            cmap.track(items),
            source="beir",
            location=str(dataset.corpus),
            embed=True,
            progress=progress,
        )
    finally:
        progress.close()
    print(
        f"ingest: read {report.read}, inserted {report.inserted}, updated {report.updated}, "
        f"unchanged {report.unchanged}, problems {report.problems}, embedded {report.embedded}, "
        f"{report.seconds:.1f} s"
    )
    stages = ", ".join(f"{k} done at +{v:.1f} s" for k, v in progress.last.items())
    print(f"ingest stages: {stages}")
    for p in report.first_problems[:5]:
        print(f"  problem at {p.where}: {p.message}")
    return cmap
