"""Recommendations: unseen papers ranked by a linear model of what a user (or a tag) saved.

The model (papersift.rank.recommend) is fitted per request on the saved papers' cached vectors
against a background sample of the corpus, then its direction is one query to the vector index,
so the cost does not grow with the catalogue. A keyword leg (the saves' tf-idf profile as one BM25
query) adds candidates, and the pool is ranked by a blend of the model's score, BM25 and each
candidate's similarity to its nearest saves. Filters apply on top: the query language's
``author:``/``cat:``/``-cat:``/``year:``/``has:code``, plus free words that a recommendation must
match and ``-words`` it must not.
"""

from __future__ import annotations

import re
import threading

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from threadpoolctl import threadpool_limits

from papersift.index.query import Filters, parse_query
from papersift.rank.recommend import (
    Background,
    blend,
    closest_seed,
    fit,
    keyword_profile,
    neighbour_score,
)
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.service.community import cards
from papersift.service.community_models import Card
from papersift.service.searching import NotFound, _semantic_for_vector
from papersift.store import embeddings as emb
from papersift.store import library as lib_db
from papersift.store.papers import papers_by_num
from papersift.store.schema import Embedding, Paper

BACKGROUND_SIZE = 3000
TEXT_FILTER_LIMIT = 20_000
CANDIDATES = 300  # per leg: the pool the legs' scores are blended over
PROFILE_SEEDS = 500  # the newest saves that make the keyword profile
_WORD = re.compile(r"[^\W_]+")
_background: dict[tuple[str, str], tuple[int, Background]] = {}
_background_lock = threading.Lock()


class PaperRef(BaseModel):
    id: str
    title: str
    similarity: float


class Recommendation(BaseModel):
    card: Card
    score: float = Field(
        description="the model's score: near +1 for papers like the saved ones, -1 for the rest"
    )
    because: list[PaperRef] = Field(description="the saved papers it is most like")
    shared_terms: list[str] = Field(
        default_factory=list,
        description="words it shares with the saved papers' keyword profile",
    )


class RecommendationsOut(BaseModel):
    owner: str
    tag: str | None = None
    seeds: int = Field(description="how many saved papers the model learned from")
    filter: str = ""
    items: list[Recommendation]
    notice: str | None = None


def _background_sample(catalog: Catalog) -> Background:
    """A fixed random sample of corpus vectors (negatives), refreshed when the corpus grows 10%."""
    key = (catalog.store.url, catalog.model_id)
    with catalog.store.session() as s:
        count = (
            s.scalar(
                select(func.count()).select_from(Embedding).where(Embedding.model_id == key[1])
            )
            or 0
        )
        cached = _background.get(key)
        if cached is not None and count <= cached[0] * 1.1:
            return cached[1]
        top = s.scalar(select(func.max(Paper.num))) or 0
        rng = np.random.default_rng(0)
        picks: list[int] = []
        if top:
            drawn = rng.choice(top, size=min(top, BACKGROUND_SIZE * 2), replace=False) + 1
            picks = [int(n) for n in drawn]
        _, mat = emb.get_vectors(s, key[1], picks, catalog.dim)
    stats = Background.of(mat[:BACKGROUND_SIZE])
    with _background_lock:
        _background[key] = (count, stats)
    return stats


def _text_sets(catalog: Catalog, text: str) -> tuple[set[int] | None, set[int]]:
    """Papers the free words require (None: no requirement) and papers ``-words`` exclude."""
    words = text.split()
    must = " ".join(w for w in words if not w.startswith("-"))
    must_not = " ".join(w[1:] for w in words if w.startswith("-") and len(w) > 1)
    allowed = None
    if must.strip():
        hits, _ = catalog.keyword.search(must, limit=TEXT_FILTER_LIMIT, count=False)
        allowed = {n for n, _ in hits}
    excluded: set[int] = set()
    if must_not.strip():
        hits, _ = catalog.keyword.search(must_not, limit=TEXT_FILTER_LIMIT, count=False)
        excluded = {n for n, _ in hits}
    return allowed, excluded


def _keyword_profile(catalog: Catalog, texts: list[str], terms: int) -> list[tuple[str, float]]:
    doc_freq, num_docs = catalog.keyword.doc_freq_lookup()
    return keyword_profile(texts, catalog.keyword.analyze, doc_freq, num_docs, terms=terms)


def _keyword_leg(
    catalog: Catalog, profile: list[tuple[str, float]], filters: Filters, seen: set[int]
) -> dict[int, float]:
    """The profile as one weighted BM25 query: papers that share the saves' distinctive words."""
    if not profile:
        return {}
    hits, _ = catalog.keyword.search(
        "", filters, limit=CANDIDATES + len(seen), expansion=profile, count=False
    )
    return {n: bm25 for n, bm25 in hits if n not in seen}


def _shared_terms(
    catalog: Catalog, nums: list[int], papers: dict[int, Paper], profile: list[tuple[str, float]]
) -> list[list[str]]:
    """Per paper, the profile's words in its title or abstract, heaviest first, as the paper
    spells them (the index's terms are stems: "diffus" is shown as "diffusion")."""
    if not profile:
        return [[] for _ in nums]
    out = []
    for n in nums:
        p = papers.get(n)
        spelled: dict[str, str] = {}
        for word in _WORD.findall(f"{p.title} {p.abstract}" if p else ""):
            for term in catalog.keyword.analyze(word):
                spelled.setdefault(term, word.lower())
        out.append([spelled[t] for t, _ in profile if t in spelled][:5])
    return out


def recommend(
    catalog: Catalog,
    who: Principal,
    *,
    tag: str | None = None,
    filter: str = "",
    k: int = 20,
) -> RecommendationsOut:
    """Up to ``k`` unseen papers for ``who`` (or for one of their tags), best first."""
    k = max(1, min(k, 100))
    parsed = parse_query(filter)
    with catalog.store.session() as s:
        if tag is not None:
            t = lib_db.tag_by_slug(s, who.id, tag)
            if t is None:
                raise NotFound(f"you have no tag {tag!r}")
            seeds = lib_db.tag_nums(s, t.id)
        else:
            seeds = lib_db.saved_nums(s, who.id)
        seen = lib_db.seen_nums(s, who.id) | set(seeds)
        seed_nums, seed_vecs = emb.get_vectors(s, catalog.model_id, seeds, catalog.dim)
    out = RecommendationsOut(
        owner=who.username, tag=tag, seeds=len(seed_nums), filter=filter, items=[]
    )
    if not seed_nums:
        out.notice = "save a few papers first: recommendations learn from what you save"
        return out
    if len(catalog.vectors) == 0:
        out.notice = "no vector index yet (run `papersift embed`)"
        return out
    background = _background_sample(catalog)
    # One BLAS thread: a 385x385 solve is too small to split, and on a busy machine two
    # threads made it ~15x slower (p50 138 ms vs 13 ms per request in benchmarks/recommend.py).
    with threadpool_limits(limits=1, user_api="blas"):
        model = fit(seed_vecs, background)
    allowed, excluded = _text_sets(catalog, parsed.text)
    settings = catalog.settings
    pool: dict[int, float] = {}  # candidate -> BM25 (0: not from the keyword leg)
    for n, _ in _semantic_for_vector(catalog, model.direction(), parsed.filters, CANDIDATES, seen):
        pool[n] = 0.0
    with catalog.store.session() as s:
        seed_papers = papers_by_num(s, list(dict.fromkeys(seeds[:PROFILE_SEEDS] + seed_nums)))
    profile: list[tuple[str, float]] = []
    if settings.recommend_terms > 0 and settings.recommend_keyword_weight > 0:
        newest = (seed_papers.get(n) for n in seeds[:PROFILE_SEEDS])
        texts = [f"{p.title} {p.abstract}" for p in newest if p]
        profile = _keyword_profile(catalog, texts, settings.recommend_terms)
        pool.update(_keyword_leg(catalog, profile, parsed.filters, seen))
    nums = [n for n in pool if n not in excluded and (allowed is None or n in allowed)]
    if not nums:
        out.notice = "nothing unseen matches these filters"
        return out
    with catalog.store.session() as s:
        found, vecs = emb.get_vectors(s, catalog.model_id, nums, catalog.dim)
    vec_of = dict(zip(found, vecs, strict=True))
    logit_of = {n: float(v @ model.weights) + model.bias for n, v in vec_of.items()}
    floor = min(logit_of.values(), default=0.0)
    dense = np.array([logit_of.get(n, floor) for n in nums])
    zero = np.zeros(catalog.dim, dtype=np.float32)
    pooled = np.stack([vec_of.get(n, zero) for n in nums])
    score = blend(
        dense,
        np.array([pool[n] for n in nums]),
        settings.recommend_keyword_weight,
        neighbour_score(pooled, seed_vecs),
        settings.recommend_neighbour_weight,
    )
    order = np.argsort(-score, kind="stable")[:k]
    nums = [nums[i] for i in order]
    logits = [logit_of.get(n, floor) for n in nums]
    best, sims = closest_seed(pooled[order], seed_vecs)
    with catalog.store.session() as s:
        top_papers = papers_by_num(s, nums)
        card_list = cards(s, catalog, nums, who, papers=top_papers)
    terms = _shared_terms(catalog, nums, top_papers, profile)
    for card, logit, b, sim, shared in zip(card_list, logits, best, sims, terms, strict=True):
        seed = seed_papers.get(seed_nums[int(b)])
        because = (
            [PaperRef(id=seed.id, title=seed.title, similarity=round(float(sim), 4))]
            if seed
            else []
        )
        out.items.append(
            Recommendation(
                card=card, score=round(float(logit), 4), because=because, shared_terms=shared
            )
        )
    return out
