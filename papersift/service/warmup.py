"""Getting a long-running process ready to answer: the model loaded, the indexes open, and the
objects it holds from then on kept out of Python's full garbage collections.

Why freeze: CPython's cycle collector walks every tracked object in a full (generation 2)
collection. A served catalog holds ~80,000 of them (the modules of FastAPI, SQLAlchemy, numpy
and the rest, the open indexes) that live as long as the process, and at 2.7M papers a full
collection came every ~70 hybrid searches and took ~25 ms, inside whichever search triggered
it. :func:`gc.freeze` moves what exists after the warm-up to a permanent generation that
collections skip (~1 ms each since), as the Python docs suggest for long-lived processes.
Reference counting still frees those objects as usual; only cycles among them would stay.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass

from papersift.embed.encoder import EncoderError
from papersift.service.catalog import Catalog
from papersift.service.searching import search

log = logging.getLogger(__name__)

WARM_UP_QUERY = "neural network"
"""Any words will do: the first search imports and loads what later ones reuse."""


@dataclass(frozen=True)
class WarmUp:
    seconds: float
    encoder: bool
    """False when the encoder could not load (searches then fall back to keyword)."""
    frozen: int
    """Objects moved out of the collector's reach."""


def warm_up(catalog: Catalog) -> WarmUp:
    """Load the encoder, open the vector index, run one search, then freeze the heap.

    For servers and benchmarks of what a server answers; a one-shot CLI search never calls it
    (the process ends first).
    """
    started = time.perf_counter()
    encoder = True
    try:
        catalog.encoder  # noqa: B018 - loads the model now rather than in the first request
    except EncoderError as e:
        encoder = False
        log.warning("encoder not loaded at start (%s): searches will load it or fall back", e)
    try:
        if catalog.keyword.num_docs():
            # Hybrid falls back to keyword on its own when nothing is embedded yet.
            search(catalog, WARM_UP_QUERY, mode="hybrid" if encoder else "keyword", page_size=10)
    except Exception:  # an optimisation must not keep the server from starting
        log.warning("warm-up search failed; serving anyway", exc_info=True)
    gc.collect()
    gc.freeze()
    return WarmUp(time.perf_counter() - started, encoder, gc.get_freeze_count())
