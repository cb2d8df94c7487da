"""Fewer garbage collections while a run works: the framework's objects are short-lived.

A run allocates many small objects per item (graph state, records, events) that die young,
while the imported libraries hold hundreds of thousands of long-lived ones that every full
collection walks again. During a run the long-lived objects are frozen out of collection and
the youngest generation is collected less often; both are restored afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000
"""Allocations between collections of the youngest generation during a run (default 700)."""


@contextmanager
def run_gc() -> Iterator[None]:
    """Freeze what exists now and collect the young generation less often, until exit."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(previous[0], YOUNG_THRESHOLD), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
