"""Process-wide tuning for a long-running server process (`provisionhub serve`).

Python's cyclic garbage collector runs a young-generation pass whenever container allocations exceed
deallocations by 700. A batch of pushes holds a few thousand objects (rows, commands, futures) for the
length of its commit, so under load the count crosses 700 over and over and the collector ran about
4,000 times in 14 s of pushing, each pass walking the live batch and often the whole heap: ~8% of the
server's time (measured with gc.callbacks under `make bench` load). Everything loaded at start
(modules, the app, the SQLAlchemy and pydantic machinery) never becomes garbage; freezing it takes it
out of every later pass, and a larger young generation lets a batch come and go, freed by reference
counting, between passes. The collector still runs: a cycle that outlives 50,000 allocations is found.
"""

from __future__ import annotations

import gc

#: Container allocations (net) between two young-generation passes; Python's default is 700.
YOUNG_GENERATION = 50_000


def tune_for_serving() -> None:
    """Call once the application is built, before serving: freeze what is loaded, widen the young
    generation. Not for test processes, which build and drop many applications."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
