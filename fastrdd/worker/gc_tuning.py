"""The cyclic garbage collector of a worker process, tuned for holding data.

A worker keeps much alive for long: cached partitions, a join's hash table,
a reduce partition's combiners.  CPython's full collection walks every
tracked object, and its default schedule (one for every 10 collections of
the middle generation, once enough objects survived) walks a big cache
again and again: PageRank over cached links spent 12% of each worker's
time there (1.4 s of 12 s per worker at 256MB, measured with
``gc.callbacks``).  Data records seldom form reference cycles, so full
collections can be much rarer without letting garbage pile up: the young
generations, which free the short-lived cycles, keep their default pace.

Worker processes only (local and cluster); never the driver, which is the
user's process.
"""
import gc

__all__ = ["tune_for_worker", "FULL_COLLECTION_EVERY"]

#: middle-generation collections between two full ones (CPython's default: 10)
FULL_COLLECTION_EVERY = 100


def tune_for_worker():
    """Make full collections rarer, and never walk what start-up imported.

    ``gc.freeze`` moves the objects alive now (modules, classes, functions)
    out of every collection's reach; they are still freed by reference
    counting if they go.
    """
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    gc.freeze()
