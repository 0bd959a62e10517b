"""Catalogue statistics: counts of papers, vectors, sources, categories and years.

The numbers behind ``papersift stats``, the web UI's about page and ``/api/stats``.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from papersift.service.catalog import Catalog
from papersift.service.models import FacetCount, StatsOut
from papersift.store.schema import Embedding, Paper


def catalog_stats(catalog: Catalog) -> StatsOut:
    with catalog.store.session() as s:
        papers = int(s.scalar(select(func.count(Paper.num))) or 0)
        embedded = int(
            s.scalar(
                select(func.count(Embedding.paper_num)).where(
                    Embedding.model_id == catalog.model_id
                )
            )
            or 0
        )
        cats: Counter[str] = Counter()
        years: Counter[str] = Counter()
        sources: Counter[str] = Counter()
        code = with_abstract = 0
        for cat, pub, srcs, codes, has_abs in s.execute(
            select(
                Paper.primary_category,
                Paper.published,
                Paper.sources,
                Paper.code_urls,
                func.length(Paper.abstract) > 0,
            )
        ):
            if cat:
                cats[cat] += 1
            if pub:
                years[str(pub.year)] += 1
            sources.update(srcs or [])
            code += bool(codes)
            with_abstract += bool(has_abs)
    return StatsOut(
        papers=papers,
        with_code=code,
        with_abstract=with_abstract,
        embedded=embedded,
        keyword_docs=catalog.keyword.num_docs(),
        vector_docs=len(catalog.vectors),
        model_id=catalog.model_id,
        sources=dict(sources.most_common()),
        top_categories=[FacetCount(value=v, count=c) for v, c in cats.most_common(15)],
        years=[FacetCount(value=v, count=c) for v, c in sorted(years.items())],
        database=catalog.store.engine.url.render_as_string(hide_password=True),
        data_dir=str(catalog.settings.data_dir),
    )
