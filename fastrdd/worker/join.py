"""The join of one partition, in the worker: a hash join that falls back to a spilling one.

The right side's records are indexed into a dict (``index_pairs``: a
key's value as it is, a ``Matches`` list only for a key seen more than once),
``BUILD_CHUNK`` at a time, and the left side streams past it (``probe_join``,
compiled, for the inner and left outer joins): the left side is never tagged,
grouped nor held in memory.  If the right side outgrows the worker's
memory budget while it is grouped, the partition is joined instead by
grouping both sides with ``storage.spill.ExternalGrouper``, which spills
(bounded memory, slower).
"""
from itertools import chain

from fastrdd import _impl
from fastrdd.serializers import chunks
from fastrdd.storage.spill import ExternalGrouper, context
from fastrdd.worker.records import not_a_pair

__all__ = ["hash_join", "tagger"]


def tagger(side):
    """Tag each value with its side, in one generator (the hot path of every join)."""
    def tag(_, iterator):
        for record in iterator:
            try:
                k, v = record
            except (TypeError, ValueError):
                raise not_a_pair(record) from None
            yield k, (side, v)

    return tag



#: right-side records grouped between two memory checks
BUILD_CHUNK = 65536


def hash_join(left, right, keep_left, keep_right):
    """Join one partition: ``(k, (v, w))`` for every match of ``left`` and ``right`` records.

    ``left`` and ``right`` are iterators of pairs; ``keep_left``/``keep_right``
    make the outer joins (``None`` for the missing side).
    """
    ctx = context()
    table = {}
    right = iter(right)  # one iterator: a fallback carries on where the chunks stopped
    for chunk in chunks(right, BUILD_CHUNK):
        _impl.shuffle.index_pairs(chunk, table)
        if ctx.over():
            return _grouped_join(left, _chain_grouped(table, right), keep_left, keep_right)
    return _probe(left, table, keep_left, keep_right)


def _probe(left, table, keep_left, keep_right):
    probed = _impl.shuffle.probe_join(left, table, keep_left)
    return _with_unmatched_right(probed, table) if keep_right else probed


def _with_unmatched_right(probed, table):
    """The right and full outer joins: the probe's records, then ``(k, (None, w))`` for
    every table key no left record matched (only those are remembered: the left side
    is never held)."""
    matched = set()
    add = matched.add
    for record in probed:
        k = record[0]
        if k in table:
            add(k)
        yield record
    matches = _impl.shuffle.Matches
    for k, w in table.items():
        if k not in matched:
            for x in _values(w, matches):
                yield k, (None, x)


def _values(w, matches):
    """The right side's values of one table entry."""
    return w if type(w) is matches else (w,)


def _chain_grouped(table, rest):
    """The right side again as pairs: what was indexed (freed as it goes), then the rest."""
    matches = _impl.shuffle.Matches
    while table:
        k, w = table.popitem()
        for x in _values(w, matches):
            yield k, x
    yield from rest


def _grouped_join(left, right, keep_left, keep_right):
    """The join by grouping both sides by key, spilling as needed (bounded memory)."""
    tagged = chain(tagger(1)(None, left), tagger(2)(None, right))
    for k, seq in ExternalGrouper().add_values(tagged).items():
        vbuf, wbuf = [], []
        for n, v in seq:
            (vbuf if n == 1 else wbuf).append(v)
        if keep_left and not wbuf:
            wbuf.append(None)
        if keep_right and not vbuf:
            vbuf.append(None)
        for v in vbuf:
            for w in wbuf:
                yield k, (v, w)
