"""Recommendation benchmark: papersift's recommender against an arxiv-sanity-lite-style SVM.

Usage::

    python benchmarks/recommend.py [--users 200] [--seed 0] [--json OUT] [--data-dir DIR]
        [--svm-scale 100000]

The question (GitHub issue 3, section 5): given what a user saved, does papersift put the papers
they will save next in its top 20, and is it at least as good as arxiv-sanity-lite's per-request
linear SVM on tf-idf while answering far faster?

**The corpus** is the bundled demo (1,787 real papers, shipped MiniLM vectors), loaded with
:func:`papersift.demo.load_demo` into a throwaway data dir, so the store, the vector index and
the recommender are exactly what `papersift demo` serves.

**Synthetic users.** There are no real libraries to replay, so users are drawn from the corpus's
own metadata. Each has 1-3 interests; an interest is either

- a *topic*: a hand-written keyword pattern (``"segment"``, ``"point cloud|3d|lidar"``, ...)
  that a paper's title matches, or that its abstract matches twice, narrowed to one arXiv
  category drawn from the topic's own category mix (so "detection" means object detection in
  cs.CV for one user, anomaly detection in cs.LG for another); a paper with no category (a third
  of the demo comes from metadata-only listings) is not excluded by the category; or
- a *category*: a small arXiv category or archive (cs.RO, cs.CL, hep, cond-mat, ...), the
  occasional physicist's or roboticist's second interest.

A user saves 10-40 papers drawn uniformly from their interests' papers (split by random weights,
at most 60% of any one interest), plus 0-2 random papers from anywhere (noise), each interest
under its own tag. Then 20-25% of the saves, chosen at random, are held out: the account and the
remaining saves are created through papersift's own ``accounts.sign_up`` and ``library.save``,
and a method scores by how many held-out papers it puts in its top 20 (recall@20, nDCG@20).

Why this is not circular: the ground truth never looks at the MiniLM vectors papersift ranks
with; it comes from arXiv categories and keyword patterns. Keyword patterns are lexical, which if
anything favours the tf-idf baseline, so results are also reported per kind of interest (topic
vs category). The ``oracle`` row ranks the unseen papers of the user's interests first, in random
order: the recall a perfect topic model would expect, since the held-out papers are a random few
of many equally on-topic ones.

**Methods**, all over the same users, saves and held-out papers:

- ``papersift``: :func:`papersift.service.recommending.recommend`, end to end (the model fit, the
  HNSW query, the cards); latency is the wall time of that call.
- ``asl-svm``: the idea of arxiv-sanity-lite's ``svm_rank``, reimplemented with scikit-learn: its
  ``compute.py`` tf-idf settings (word 1-2 grams, 20k features, sublinear tf, min_df 5,
  max_df 0.1, English stop words, over title + abstract + authors) and a
  ``LinearSVC(class_weight="balanced", C=0.01)`` fitted per request on the whole corpus with the
  saves as positives. Latency is fit + score + sort (the vectoriser is fitted once, offline, as
  arxiv-sanity-lite does), so it excludes fetching papers, which the papersift row pays for.
- ``centroid``: cosine to the mean of the saved papers' MiniLM vectors, exact.

``--svm-scale N`` also times the SVM refit on an N-paper tf-idf matrix (the demo's rows tiled),
for the arXiv-scale latency the issue asks about.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from metrics import mean, ndcg_at_k, percentile, recall_at_k
from relevance import machine_info
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sqlalchemy import select

from papersift.config import Settings
from papersift.demo import load_demo
from papersift.rank.recommend import fit
from papersift.service import accounts, library, recommending
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.store import embeddings as emb
from papersift.store.schema import Paper

BENCH_DIR = Path(__file__).resolve().parent
K = 20

TOPICS: dict[str, str] = {
    "segmentation": r"segment",
    "object detection": r"object detect|detector",
    "graphs": r"\bgraph",
    "adversarial robustness": r"adversarial (?:attack|example|robust|perturb|train)",
    "reinforcement learning": r"reinforcement|\bpolic(?:y|ies)\b",
    "transformers and attention": r"transformer|attention",
    "GANs": r"\bgans?\b|generative adversarial",
    "few/zero-shot and meta-learning": r"few.shot|zero.shot|meta.learn",
    "self-supervised and contrastive": r"self.supervis|contrastive",
    "distillation": r"distill",
    "domain adaptation": r"domain (?:adapt|generali[sz]|shift)",
    "3D and point clouds": r"point cloud|\b3d\b|lidar",
    "video": r"\bvideos?\b",
    "language models": r"language model|\bllms?\b",
    "time series": r"time.series",
    "pruning and quantisation": r"\bprun|quantiz|compress",
    "Bayesian methods": r"bayes|gaussian process|variational",
    "medical imaging": r"medical|clinical|\bmri\b|patholog|tumou?r|lesion",
    "faces": r"\bfaces?\b|facial",
    "depth and stereo": r"\bdepth\b|stereo",
    "image restoration": r"super.resolution|denois|deblur|restoration",
    "anomaly detection": r"anomal|out.of.distribution|outlier",
    "explainability": r"explain|interpretab|saliency",
    "tracking": r"\btrack",
    "continual learning": r"continual|class.incremental|catastrophic forget",
    "uncertainty": r"uncertaint|calibrat",
    "vision-language": r"vision.language|image caption|visual question|\bclip\b|text.to.image",
    "quantum": r"quantum",
    "kernel methods": r"\bkernel",
}
"""Interest topics: a keyword pattern matched (case-insensitively) against title and abstract."""

CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "cs.RO": ("cs.RO",),
    "cs.CL": ("cs.CL",),
    "cs.NE": ("cs.NE",),
    "eess.IV": ("eess.IV",),
    "astro-ph": ("astro-ph",),
    "hep": ("hep-",),
    "cond-mat": ("cond-mat",),
    "quant-ph and gr-qc": ("quant-ph", "gr-qc"),
    "math": ("math.", "math-ph"),
    "physics": ("physics.",),
}
"""Category interests: a paper belongs when one of its categories starts with a prefix."""

MIN_POOL = 15  # an interest needs at least this many papers to draw saves and held-out ones
MAX_SHARE = 0.6  # a user saves at most this share of one interest's papers
SAVES = (10, 40)
HOLD_OUT = (0.20, 0.25)
PASSWORD = "benchmark password"


# --- the corpus -------------------------------------------------------------------------------


@dataclass
class Corpus:
    """The demo papers in store order (row i is paper ``nums[i]``), with what the methods need."""

    nums: np.ndarray
    ids: list[str]
    titles: list[str]
    texts: list[str]  # title + abstract + authors, arxiv-sanity-lite's tf-idf input
    abstracts: list[str]
    categories: list[list[str]]
    vectors: np.ndarray  # (n, dim) float32, L2-normalised MiniLM vectors from the store

    def __len__(self) -> int:
        return len(self.ids)


def load_corpus(catalog: Catalog) -> Corpus:
    with catalog.store.session() as s:
        rows = s.execute(
            select(
                Paper.num, Paper.id, Paper.title, Paper.abstract, Paper.authors, Paper.categories
            ).order_by(Paper.num)
        ).all()
        found, vecs = emb.get_vectors(s, catalog.model_id, [r[0] for r in rows], catalog.dim)
    vec_of = dict(zip(found, vecs, strict=True))
    rows = [r for r in rows if r[0] in vec_of]
    return Corpus(
        nums=np.array([r[0] for r in rows]),
        ids=[r[1] for r in rows],
        titles=[r[2] or "" for r in rows],
        abstracts=[r[3] or "" for r in rows],
        texts=[" ".join([r[2] or "", r[3] or "", " ".join(r[4] or [])]) for r in rows],
        categories=[list(r[5] or []) for r in rows],
        vectors=np.stack([vec_of[r[0]] for r in rows]).astype(np.float32),
    )


# --- synthetic users --------------------------------------------------------------------------


@dataclass
class Interest:
    name: str
    kind: str  # "topic" or "category"
    pool: np.ndarray  # corpus rows


@dataclass
class UserSpec:
    name: str
    interests: list[Interest]
    train: list[int]  # corpus rows saved through papersift
    test: list[int]  # held out: the papers the user would save next
    tags: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)  # slug -> (tr, te)
    noise: int = 0

    def pool(self) -> set[int]:
        return {int(i) for it in self.interests for i in it.pool}


def topic_interests(corpus: Corpus) -> list[tuple[str, np.ndarray, Counter[str]]]:
    """Each topic's papers and their category mix (to narrow a topic to one category)."""
    out = []
    for name, pattern in TOPICS.items():
        rx = re.compile(pattern, re.IGNORECASE)
        rows = np.array(
            [
                i
                for i in range(len(corpus))
                if rx.search(corpus.titles[i]) or len(rx.findall(corpus.abstracts[i])) >= 2
            ]
        )
        cats = Counter(c for i in rows for c in corpus.categories[i])
        if len(rows) >= MIN_POOL:
            out.append((name, rows, cats))
    return out


def category_interests(corpus: Corpus) -> list[Interest]:
    out = []
    for name, prefixes in CATEGORY_GROUPS.items():
        rows = np.array(
            [
                i
                for i, cats in enumerate(corpus.categories)
                if any(c.startswith(prefixes) for c in cats)
            ]
        )
        if len(rows) >= MIN_POOL:
            out.append(Interest(f"cat:{name}", "category", rows))
    return out


def draw_interest(
    corpus: Corpus,
    rng: np.random.Generator,
    topics: list[tuple[str, np.ndarray, Counter[str]]],
    categories: list[Interest],
) -> Interest:
    if rng.random() < 0.2:
        return categories[int(rng.integers(len(categories)))]
    name, rows, cats = topics[int(rng.integers(len(topics)))]
    names, counts = zip(*cats.most_common(6), strict=True)
    p = np.array(counts, dtype=float) / sum(counts)
    cat = str(names[int(rng.choice(len(names), p=p))])
    narrowed = np.array(
        [i for i in rows if not corpus.categories[i] or cat in corpus.categories[i]]
    )
    if len(narrowed) >= MIN_POOL:
        return Interest(f"{name} in {cat}", "topic", narrowed)
    return Interest(name, "topic", rows)


def make_users(corpus: Corpus, n: int, rng: np.random.Generator) -> list[UserSpec]:
    topics = topic_interests(corpus)
    categories = category_interests(corpus)
    users: list[UserSpec] = []
    for u in range(n):
        n_interests = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
        interests: list[Interest] = []
        while len(interests) < n_interests:
            it = draw_interest(corpus, rng, topics, categories)
            if it.name not in {x.name for x in interests}:
                interests.append(it)
        total = int(rng.integers(SAVES[0], SAVES[1] + 1))
        noise = int(rng.integers(0, 3))
        weights = rng.dirichlet(np.full(len(interests), 2.0))
        per = [max(4, round(w * (total - noise))) for w in weights]
        picked: dict[int, str] = {}  # corpus row -> tag slug ("" for noise)
        for it, want in zip(interests, per, strict=True):
            cap = int(len(it.pool) * MAX_SHARE)
            free = np.array([i for i in it.pool if int(i) not in picked])
            take = rng.choice(free, size=min(want, cap, len(free)), replace=False)
            slug = library.slugify(it.name)
            for i in take:
                picked[int(i)] = slug
        while noise and len(picked) < total + 5:
            i = int(rng.integers(len(corpus)))
            if i not in picked:
                picked[i] = ""
                noise -= 1
        rows = list(picked)
        rng.shuffle(rows)
        n_test = max(2, round(len(rows) * rng.uniform(*HOLD_OUT)))
        test, train = rows[:n_test], rows[n_test:]
        spec = UserSpec(
            name=f"bench{u:04d}",
            interests=interests,
            train=train,
            test=test,
            noise=sum(1 for i in rows if not picked[i]),
        )
        for it in interests:
            slug = library.slugify(it.name)
            spec.tags[slug] = (
                [i for i in train if picked[i] == slug],
                [i for i in test if picked[i] == slug],
            )
        users.append(spec)
    return users


def create_accounts(
    catalog: Catalog, corpus: Corpus, users: Sequence[UserSpec]
) -> dict[str, Principal]:
    """Sign each user up and save their training papers, each into its interest's tag."""
    out: dict[str, Principal] = {}
    for spec in users:
        who = accounts.sign_up(catalog, spec.name, f"{spec.name}@example.org", PASSWORD)
        tag_of = {i: slug for slug, (tr, _) in spec.tags.items() for i in tr}
        for i in spec.train:
            slug = tag_of.get(i)
            library.save(catalog, who, corpus.ids[i], [slug] if slug else None)
        out[spec.name] = who
    return out


# --- methods ----------------------------------------------------------------------------------

Ranker = Callable[[list[int], set[int]], list[int]]
"""(positive corpus rows, rows to exclude) -> top-K corpus rows."""


def top_k(scores: np.ndarray, exclude: set[int], k: int = K) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[: k + len(exclude)] if int(i) not in exclude][:k]


class AslSvm:
    """arxiv-sanity-lite's ``svm_rank``, reimplemented: refit a linear SVM per request."""

    def __init__(self, texts: Sequence[str], c: float = 0.01) -> None:
        self.vectorizer = TfidfVectorizer(
            input="content",
            encoding="utf-8",
            decode_error="replace",
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20_000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        self.x = self.vectorizer.fit_transform(texts).astype(np.float32)
        self.c = c

    def scores(self, positives: list[int]) -> np.ndarray:
        y = np.zeros(self.x.shape[0], dtype=np.float32)
        y[positives] = 1.0
        clf = LinearSVC(class_weight="balanced", max_iter=10_000, tol=1e-6, C=self.c)
        clf.fit(self.x, y)
        return clf.decision_function(self.x)

    def __call__(self, positives: list[int], exclude: set[int]) -> list[int]:
        return top_k(self.scores(positives), exclude)


def centroid_ranker(vectors: np.ndarray) -> Ranker:
    def rank(positives: list[int], exclude: set[int]) -> list[int]:
        c = vectors[positives].mean(axis=0)
        return top_k(vectors @ c, exclude)

    return rank


# --- scoring ----------------------------------------------------------------------------------


@dataclass
class Result:
    method: str
    scope: str  # "user" or "tag"
    recall: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    on_topic: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def add(
        self,
        ranked: Sequence[int],
        test: Sequence[int],
        pool: set[int],
        kinds: Sequence[str],
        ms: float | None,
    ) -> None:
        ids = [str(i) for i in ranked]
        qrels = {str(i): 1 for i in test}
        r = recall_at_k(ids, qrels, K)
        self.recall.append(r)
        self.ndcg.append(ndcg_at_k(ids, qrels, K))
        self.precision.append(sum(1 for i in ranked[:K] if i in set(test)) / K)
        self.on_topic.append(sum(1 for i in ranked[:K] if i in pool) / K)
        for kind in set(kinds):
            self.by_kind.setdefault(kind, []).append(r)
        if ms is not None:
            self.latency_ms.append(ms)

    def row(self) -> dict[str, object]:
        return {
            "method": self.method,
            "scope": self.scope,
            f"recall@{K}": round(mean(self.recall), 4),
            f"ndcg@{K}": round(mean(self.ndcg), 4),
            f"precision@{K}": round(mean(self.precision), 4),
            f"on_topic@{K}": round(mean(self.on_topic), 4),
            **{
                f"recall@{K}[{kind}]": round(mean(v), 4) for kind, v in sorted(self.by_kind.items())
            },
            "p50_ms": round(percentile(self.latency_ms, 50), 2) if self.latency_ms else None,
            "p95_ms": round(percentile(self.latency_ms, 95), 2) if self.latency_ms else None,
            "requests": len(self.recall),
        }


def oracle(spec_pool: set[int], exclude: set[int], rng: np.random.Generator) -> list[int]:
    """The unseen papers of the user's interests, in random order: what a perfect topic model
    would expect to score when the held-out papers are a random few of many on-topic ones."""
    cands = [i for i in spec_pool if i not in exclude]
    rng.shuffle(cands)
    return cands[:K]


def evaluate(
    catalog: Catalog,
    corpus: Corpus,
    users: Sequence[UserSpec],
    principals: dict[str, Principal],
    rankers: dict[str, Ranker],
    seed: int,
) -> list[Result]:
    results: dict[tuple[str, str], Result] = {}

    def res(method: str, scope: str) -> Result:
        return results.setdefault((method, scope), Result(method, scope))

    id_row = {pid: i for i, pid in enumerate(corpus.ids)}
    # Warm-up outside the clock: the background sample and index readers load on first use.
    first = users[0]
    recommending.recommend(catalog, principals[first.name], k=K)
    rng = np.random.default_rng(seed + 1)
    for spec in users:
        who = principals[spec.name]
        exclude = set(spec.train)
        scopes: list[tuple[str, str | None, list[int], list[int], set[int], list[str]]] = [
            ("user", None, spec.train, spec.test, spec.pool(), [it.kind for it in spec.interests])
        ]
        for it in spec.interests:
            slug = library.slugify(it.name)
            tr, te = spec.tags[slug]
            if tr and te:
                scopes.append(("tag", slug, tr, te, {int(i) for i in it.pool}, [it.kind]))
        for scope, tag, train, test, pool, kinds in scopes:
            t0 = time.perf_counter()
            out = recommending.recommend(catalog, who, tag=tag, k=K)
            ms = (time.perf_counter() - t0) * 1000
            ranked = [id_row[r.card.paper.id] for r in out.items]
            res("papersift", scope).add(ranked, test, pool, kinds, ms)
            for name, ranker in rankers.items():
                t0 = time.perf_counter()
                ranked = ranker(train, exclude)
                ms = (time.perf_counter() - t0) * 1000
                res(name, scope).add(ranked, test, pool, kinds, ms)
            res("oracle", scope).add(oracle(pool, exclude, rng), test, pool, kinds, None)
    return list(results.values())


# --- reporting --------------------------------------------------------------------------------


def format_table(results: Sequence[Result]) -> str:
    header = (
        f"{'method':<22} | {'scope':<5} | {'recall@20':>9} | {'nDCG@20':>7} | {'P@20':>6} | "
        f"{'on-topic':>8} | {'r@20 topic':>10} | {'r@20 cat':>8} | {'p50 ms':>8} | {'p95 ms':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lat = (
            f"{percentile(r.latency_ms, 50):>8.1f} | {percentile(r.latency_ms, 95):>8.1f}"
            if r.latency_ms
            else f"{'-':>8} | {'-':>8}"
        )
        lines.append(
            f"{r.method:<22} | {r.scope:<5} | {mean(r.recall):>9.4f} | {mean(r.ndcg):>7.4f} | "
            f"{mean(r.precision):>6.4f} | {mean(r.on_topic):>8.4f} | "
            f"{mean(r.by_kind.get('topic', [])):>10.4f} | "
            f"{mean(r.by_kind.get('category', [])):>8.4f} | {lat}"
        )
    return "\n".join(lines)


def plot(results: Sequence[Result], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    users = [r for r in results if r.scope == "user"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = [r.method for r in users]
    ax.barh(names, [mean(r.recall) for r in users], color="#4c72b0")
    for i, r in enumerate(users):
        label = f"{mean(r.recall):.3f}"
        if r.latency_ms:
            label += f"  ({percentile(r.latency_ms, 50):.0f} ms)"
        ax.text(mean(r.recall), i, " " + label, va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"recall@{K} of held-out saves (per user, p50 latency)")
    ax.set_xlim(0, max(mean(r.recall) for r in users) * 1.35)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def describe_users(users: Sequence[UserSpec]) -> str:
    n_int = Counter(len(u.interests) for u in users)
    kinds = Counter(it.kind for u in users for it in u.interests)
    saves = [len(u.train) + len(u.test) for u in users]
    return (
        f"users: {len(users)}; interests per user {dict(sorted(n_int.items()))}; "
        f"interest kinds {dict(kinds)}; saves {min(saves)}-{max(saves)} "
        f"(mean {mean(saves):.1f}), held out {sum(len(u.test) for u in users)} in all, "
        f"noise saves {sum(u.noise for u in users)}"
    )


def svm_at_scale(svm: AslSvm, n: int, repeats: int = 3) -> list[float]:
    """Seconds per SVM refit when the corpus is n papers: the demo's tf-idf rows tiled."""
    import scipy.sparse as sp

    reps = -(-n // svm.x.shape[0])
    x = sp.vstack([svm.x] * reps).tocsr()[:n]
    big = AslSvm.__new__(AslSvm)
    big.x, big.c, big.vectorizer = x, svm.c, svm.vectorizer
    rng = np.random.default_rng(0)
    out = []
    for _ in range(repeats):
        pos = [int(i) for i in rng.choice(n, size=25, replace=False)]
        t0 = time.perf_counter()
        top_k(big.scores(pos), set(pos))
        out.append(time.perf_counter() - t0)
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--users", type=int, default=200, help="synthetic users (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="seed for users and held-out papers")
    ap.add_argument(
        "--json", type=Path, default=BENCH_DIR / "results" / "recommend.json", help="result rows"
    )
    ap.add_argument("--data-dir", type=Path, help="keep the papersift data dir here (fresh dir)")
    ap.add_argument(
        "--svm-scale", type=int, default=0, help="also time the SVM refit at this many papers"
    )
    args = ap.parse_args(argv)
    if args.users < 1:
        ap.error("--users must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"machine: {json.dumps(machine_info())}")
    with tempfile.TemporaryDirectory(prefix="papersift-recommend-") as tmp:
        data_dir: Path = args.data_dir or Path(tmp)
        if args.data_dir and any(data_dir.iterdir() if data_dir.exists() else []):
            raise SystemExit(f"--data-dir {data_dir} is not empty: the users must be new")
        catalog = Catalog(Settings(data_dir=data_dir, search_rate_per_minute=0))
        try:
            t0 = time.perf_counter()
            print(f"demo: {load_demo(catalog)} ({time.perf_counter() - t0:.1f} s)")
            corpus = load_corpus(catalog)
            rng = np.random.default_rng(args.seed)
            users = make_users(corpus, args.users, rng)
            print(describe_users(users))
            t0 = time.perf_counter()
            principals = create_accounts(catalog, corpus, users)
            print(f"accounts and saves through the service: {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            svm = AslSvm(corpus.texts)
            print(
                f"asl-svm tf-idf: {svm.x.shape[0]} x {svm.x.shape[1]} features "
                f"({time.perf_counter() - t0:.1f} s, offline)"
            )
            rankers: dict[str, Ranker] = {
                "asl-svm": svm,
                "centroid": centroid_ranker(corpus.vectors),
            }
            t0 = time.perf_counter()
            results = evaluate(catalog, corpus, users, principals, rankers, args.seed)
            print(f"evaluation: {time.perf_counter() - t0:.1f} s")
        finally:
            catalog.close()

    print()
    print(format_table(results))
    rows = [r.row() for r in results]
    if args.svm_scale:
        secs = svm_at_scale(svm, args.svm_scale)
        print(
            f"\nasl-svm refit at {args.svm_scale} papers (demo rows tiled): "
            + ", ".join(f"{s * 1000:.0f} ms" for s in secs)
        )
        rows.append(
            {
                "method": "asl-svm",
                "scope": f"timing at {args.svm_scale} papers",
                "p50_ms": round(percentile([s * 1000 for s in secs], 50), 1),
                "requests": len(secs),
            }
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}")
    png = args.json.with_suffix(".png")
    if plot(results, png):
        print(f"wrote {png}")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
