"""The reduce side of a shuffle: one reduce partition's records from every map output,
then merged or grouped by key.

Each map output is read through the worker's block fetcher
(``storage.blocks``), from whichever worker wrote it; this module never
opens another worker's files itself.
"""
from itertools import chain

from fastrdd.errors import FetchFailedError
from fastrdd.serializers import iter_frames
from fastrdd.storage.spill import ExternalGrouper, ExternalMerger

__all__ = ["read_reduce_input", "aggregate_reduce_side"]


def read_reduce_input(fetcher, shuffle_id, reduce_id, num_reduces, addresses, metrics=None,
                      first_map=0):
    """The records for ``reduce_id`` from every map output, in map order: an iterator.

    ``addresses[m]`` is the block address of the worker holding map output
    ``first_map + m``, or None when that worker was lost.  ``metrics`` (the
    task's runtime) counts the bytes and records read, a region and a batch
    at a time.
    """
    # a batch at a time through Python, a record at a time in C (no generator resumed per
    # record); nothing is checked or fetched before the first record is asked for
    return chain.from_iterable(
        _batches(fetcher, shuffle_id, reduce_id, num_reduces, addresses, metrics, first_map))


def _batches(fetcher, shuffle_id, reduce_id, num_reduces, addresses, metrics, first_map):
    for map_id, address in enumerate(addresses, first_map):
        if address is None:
            raise FetchFailedError(shuffle_id, map_id, "its worker was lost")
    requests = [(address, shuffle_id, map_id, reduce_id, num_reduces)
                for map_id, address in enumerate(addresses, first_map)]
    for data in fetcher.shuffle_regions(requests):
        if metrics is not None:
            metrics.shuffle_read_bytes += len(data)
        for batch in iter_frames(data):
            if metrics is not None:
                metrics.shuffle_read_records += len(batch)
            yield batch


def aggregate_reduce_side(records, agg):
    """Merge the pre-combined records of one reduce partition; an iterator of pairs.

    Spills to disk (``spill.py``) when the worker nears its memory budget.
    """
    if agg is None:
        return records
    if agg.kind == "group":
        grouper = ExternalGrouper()
        return (grouper.add(records) if agg.map_side_combine else grouper.add_values(records)).items()
    if agg.map_side_combine:
        return ExternalMerger(agg.merge_combiners).add(records).items()
    merger = ExternalMerger(agg.merge_combiners)
    return merger.add_values(records, agg.create_combiner, agg.merge_value).items()
