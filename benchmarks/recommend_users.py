"""The recommendation benchmark's corpus and synthetic users: interests drawn from the demo
corpus's topics and categories, saves and held-out papers per user, and their accounts (see
recommend.py for how users are made and why)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from papersift.service import accounts, library
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.store import embeddings as emb
from papersift.store.schema import Paper

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
        while noise:  # a few random papers from anywhere
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
