"""Process-wide tuning for a long-running server process (`provisionhub serve`): the cyclic garbage
collector kept away from what was loaded at start and from each batch's short-lived objects."""

from __future__ import annotations

import gc

#: Container allocations (net) between two young-generation passes; Python's default is 700, which a batch
#: of pushes (a few thousand rows, commands and futures, held for the length of its commit) crosses over
#: and over.
YOUNG_GENERATION = 50_000


def tune_for_serving() -> None:
    """Call once the application is built, before serving: freeze what is loaded, widen the young
    generation. Not for test processes, which build and drop many applications.

    Under push load the collector's passes, each walking the live batch and often the whole heap, took a
    share of the server's time worth taking back (docs/benchmarks). Everything loaded at start (modules,
    the app, the SQLAlchemy and pydantic machinery) never becomes garbage: frozen, it is out of every
    later pass. A larger young generation lets a batch come and go, freed by reference counting, between
    passes. The collector still runs: a cycle that outlives 50,000 allocations is found.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
