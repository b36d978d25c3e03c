"""Process-wide settings of the NCC process, in one place: ``brexit ncc serve`` applies
them after its start, and ``brexit ncc bench ingest`` applies them to the drain it times,
so the benchmark measures the NCC as it runs.

The garbage collector. A batch of 1,000 messages allocates tens of thousands of
short-lived containers (decoded JSON, records, rows); nearly all are freed by reference
counting, yet with Python's default threshold (700) the young generation is collected
dozens of times a batch. And what the start read (the inventory, every node's row, the
compiled schemas: half a million objects at 10,000 sites) would be walked by every full
collection (about 0.5 s each, every thread waiting). So: the start-up heap is frozen out of
the collector, and the young generation is collected every ``YOUNG`` allocations.
"""

from __future__ import annotations

import gc

YOUNG = 20_000
MIDDLE = 20
OLD = 10


def tune_gc() -> tuple[int, int, int]:
    """Freeze what exists now and raise the thresholds; returns the thresholds set.

    >>> before = gc.get_threshold()
    >>> tune_gc()
    (20000, 20, 10)
    >>> gc.get_freeze_count() > 0
    True
    >>> gc.unfreeze(); gc.set_threshold(*before)
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    return gc.get_threshold()
