"""The worker's in-memory block store: cached RDD partitions and broadcasts.

This pure-Python module is the specification; ``blockstore.pyx`` is its
compiled twin and must behave identically (``tests/test_blockstore.py``
checks both against a small reference model).  Import the store through
``fastrdd._impl``, never from a twin directly.

Data flow on a worker::

    task computes partition p of a cached rdd
        |  store.put(("rdd", rdd_id, p), records, size)  -> keys evicted
        v
    +----------------------- BlockStore ------------------------+
    |  oldest (LRU) ---------------------------> newest (MRU)    |
    |  ("rdd",3,0)  ("broadcast",1)  ("rdd",3,1)  ("rdd",5,2)    |
    |     pins=0        pins=2          pins=0       pins=0      |
    +------------------------------------------------------------+
        |  store.get(key)  -> value, and the block becomes newest
        |  store.pin(key) ... store.unpin(key) around a read
        v
    a later task reads the cached records instead of recomputing them

The caller (the worker's state machine) reports the evicted keys to the
driver so that it stops routing tasks to blocks that are gone.

State kept by a store:

``capacity_bytes``
    Upper bound on ``used_bytes``, or ``None`` for no bound.  Only pinned
    blocks can hold the store above it (after the bound was lowered while
    they were in use); the next ``put`` or ``resize`` restores it.
``used_bytes``
    Sum of the caller-supplied ``size`` of every block held.  Sizes are
    estimates in bytes; the store never measures values itself.
block order
    Least recently used first.  ``put`` and ``get`` make a block the newest;
    ``pin``, ``size_of`` and ``in`` leave the order alone.
pins
    Per block, the number of running readers.  A pinned block is never
    evicted, and ``put`` (replace), ``remove``, ``remove_where`` and
    ``clear`` refuse to drop it with ``BufferError``, as msgpack's
    ``Packer`` refuses to change while buffers are exported.
pinned bytes
    Sum of the sizes of pinned blocks: the part of ``used_bytes`` that
    eviction cannot free.  ``put`` consults it to decide, before evicting
    anything, whether the new block can be kept at all.

Rules of ``put(key, value, size)``:

1. ``size`` must be an integer in ``[0, 2**63 - 1]``, else ``ValueError``
   (negative), ``OverflowError`` (too big) or ``TypeError``.
2. A block already held under ``key`` is replaced; if it is pinned, the put
   raises ``BufferError`` and changes nothing.
3. If ``pinned bytes + size`` exceeds the capacity, the new block is not
   kept, nothing else is evicted, and the result is ``[key]`` (any older
   block under ``key`` is gone too: it was replaced by one that did not fit).
4. Otherwise the block is stored as the newest, and unpinned blocks are
   evicted oldest first until ``used_bytes <= capacity_bytes``; the result
   lists them in eviction order.

Values leaving the store are released only when the method returns, after
the bookkeeping balances, so a value's ``__del__`` sees a consistent store.
The store is not thread-safe: one thread (the worker's event loop) owns it.
"""
from collections import OrderedDict
from operator import index as _index

__all__ = ["BlockStore"]

#: Largest size (and total) a store accounts for; the compiled twin keeps
#: sizes in C ``int64_t``, and the twins must reject the same inputs.
MAX_BYTES = 2**63 - 1


class _Block:
    """One stored block: the value, its size and its reader count."""

    __slots__ = ("value", "size", "pins")

    def __init__(self, value, size):
        self.value = value  #: the cached object, usually a list of records
        self.size = size  #: caller's estimate in bytes, 0 <= size <= MAX_BYTES
        self.pins = 0  #: running readers; > 0 forbids eviction and removal


def _check_size(key, size):
    """Return ``size`` as an int, or raise naming the block."""
    try:
        size = _index(size)
    except TypeError:
        raise TypeError(
            f"size of block {key!r} must be an integer number of bytes, "
            f"got {type(size).__name__}"
        ) from None
    if size < 0:
        raise ValueError(f"size of block {key!r} must be >= 0, got {size}")
    if size > MAX_BYTES:
        raise OverflowError(f"size of block {key!r} must be <= 2**63 - 1, got {size}")
    return size


def _check_capacity(capacity_bytes):
    """Return ``capacity_bytes`` as an int or None, or raise naming it."""
    if capacity_bytes is None:
        return None
    try:
        capacity_bytes = _index(capacity_bytes)
    except TypeError:
        raise TypeError(
            "capacity_bytes must be an integer number of bytes or None, "
            f"got {type(capacity_bytes).__name__}"
        ) from None
    if capacity_bytes < 0:
        raise ValueError(f"capacity_bytes must be >= 0 or None, got {capacity_bytes}")
    if capacity_bytes > MAX_BYTES:
        raise OverflowError(f"capacity_bytes must be <= 2**63 - 1, got {capacity_bytes}")
    return capacity_bytes


def _in_use(key, pins):
    return BufferError(
        f"block {key!r} is in use by {pins} reader{'s' if pins != 1 else ''}; "
        "unpin it before replacing or removing it"
    )


class BlockStore:
    """In-memory LRU store of blocks, bounded by ``capacity_bytes``.

    Parameters
    ----------
    capacity_bytes : int or None
        Upper bound on the sum of block sizes; ``None`` (default) is unbounded.

    Examples
    --------
    >>> store = BlockStore(capacity_bytes=100)
    >>> store.put(("rdd", 1, 0), [1, 2, 3], 60)
    []
    >>> store.put(("rdd", 1, 1), [4, 5], 50)
    [('rdd', 1, 0)]
    >>> store.get(("rdd", 1, 1))
    [4, 5]
    >>> store.used_bytes, store.keys()
    (50, [('rdd', 1, 1)])
    """

    __slots__ = ("_blocks", "_capacity", "_used", "_pinned")

    def __init__(self, capacity_bytes=None):
        #: key -> _Block, least recently used first
        self._blocks = OrderedDict()
        #: bound on _used, or None for unbounded
        self._capacity = _check_capacity(capacity_bytes)
        #: sum of all block sizes
        self._used = 0
        #: sum of sizes of blocks with pins > 0 (what eviction cannot free)
        self._pinned = 0

    # -- reading -----------------------------------------------------------

    def get(self, key, default=None):
        """Return the value stored under ``key`` (and make it the newest),
        or ``default`` if there is none."""
        block = self._blocks.get(key)
        if block is None:
            return default
        self._blocks.move_to_end(key)
        return block.value

    def __contains__(self, key):
        return key in self._blocks

    def __len__(self):
        return len(self._blocks)

    def keys(self):
        """Keys of all blocks, least recently used first."""
        return list(self._blocks)

    def size_of(self, key):
        """Size in bytes given when ``key`` was put; ``KeyError`` if absent."""
        return self._blocks[key].size

    def pin_count(self, key):
        """Number of readers pinning ``key``; ``KeyError`` if absent."""
        return self._blocks[key].pins

    @property
    def used_bytes(self):
        """Sum of the sizes of all blocks held."""
        return self._used

    @property
    def capacity_bytes(self):
        """Bound on ``used_bytes`` (``None``: unbounded).  Setting it evicts
        like ``resize`` but cannot report the keys; prefer ``resize``."""
        return self._capacity

    @capacity_bytes.setter
    def capacity_bytes(self, capacity_bytes):
        self.resize(capacity_bytes)

    # -- writing -----------------------------------------------------------

    def put(self, key, value, size):
        """Store ``value`` under ``key`` as the newest block.

        Returns the list of keys no longer held because of this call: the
        blocks evicted, oldest first, or ``[key]`` when the new block itself
        cannot fit beside the pinned ones.  See the module docstring for the
        rules.
        """
        size = _check_size(key, size)
        blocks = self._blocks
        old = blocks.get(key)
        used = self._used
        if old is not None:
            if old.pins:
                raise _in_use(key, old.pins)
            used -= old.size
        if used > MAX_BYTES - size:
            raise OverflowError(
                f"block {key!r} of {size} bytes would take the store past 2**63 - 1 bytes"
            )
        capacity = self._capacity
        if capacity is not None and self._pinned + size > capacity:
            if old is not None:  # the old version was replaced by one that did not fit
                del blocks[key]
                self._used = used
            return [key]
        if old is None:
            blocks[key] = _Block(value, size)
        else:
            # Update in place: cheaper than delete + insert, and the dict
            # keeps its original key object (the compiled twin does too).
            old_value = old.value  # noqa: F841  freed on return, after the books balance
            old.value = value
            old.size = size
            blocks.move_to_end(key)
        self._used = used + size
        if capacity is not None and self._used > capacity:
            return self._evict(capacity)
        return []

    def resize(self, capacity_bytes):
        """Set ``capacity_bytes``; return the keys evicted to meet it.

        Pinned blocks stay even if they alone exceed the new bound.
        """
        capacity = self._capacity = _check_capacity(capacity_bytes)
        if capacity is not None and self._used > capacity:
            return self._evict(capacity)
        return []

    def _evict(self, capacity):
        """Drop unpinned blocks, oldest first, until used <= capacity.

        Called only when used > capacity.
        """
        blocks = self._blocks
        excess = self._used - capacity
        victims = []
        dropped = []  # freed on return, after the books balance
        for key, block in blocks.items():
            if not block.pins:
                victims.append(key)
                dropped.append(block)
                excess -= block.size
                if excess <= 0:
                    break
        for key in victims:
            del blocks[key]
        self._used = capacity + excess
        return victims

    def remove(self, key):
        """Drop the block under ``key``; return whether there was one.

        Raises ``BufferError`` if the block is pinned.
        """
        block = self._blocks.get(key)
        if block is None:
            return False
        if block.pins:
            raise _in_use(key, block.pins)
        del self._blocks[key]
        self._used -= block.size
        return True

    def remove_where(self, predicate):
        """Drop every block whose key satisfies ``predicate(key)``.

        Returns the keys dropped, least recently used first.  All or nothing:
        if a matching block is pinned (``BufferError``) or ``predicate``
        raises, no block is dropped.

        >>> store = BlockStore()
        >>> for p in range(3):
        ...     _ = store.put(("rdd", 7, p), [p], 8)
        >>> _ = store.put(("broadcast", 1), "v", 8)
        >>> store.remove_where(lambda key: key[:2] == ("rdd", 7))
        [('rdd', 7, 0), ('rdd', 7, 1), ('rdd', 7, 2)]
        """
        blocks = self._blocks
        matched = [key for key in list(blocks) if predicate(key)]
        for key in matched:
            block = blocks.get(key)
            if block is not None and block.pins:
                raise _in_use(key, block.pins)
        removed = []
        dropped = []  # freed after the books balance
        for key in matched:
            block = blocks.pop(key, None)
            if block is not None:  # predicate may have mutated the store
                dropped.append(block)
                self._used -= block.size
                removed.append(key)
        return removed

    def clear(self):
        """Drop every block; ``BufferError`` (and nothing dropped) if any is
        pinned."""
        for key, block in self._blocks.items():
            if block.pins:
                raise _in_use(key, block.pins)
        blocks = self._blocks  # freed after the reset, on return
        self._blocks = OrderedDict()
        self._used = 0

    # -- readers -----------------------------------------------------------

    def pin(self, key):
        """Count one more reader of ``key``; ``KeyError`` if absent.

        Pinning does not change the LRU order.
        """
        block = self._blocks[key]
        if not block.pins:
            self._pinned += block.size
        block.pins += 1

    def unpin(self, key):
        """Count one reader fewer; ``ValueError`` if ``key`` is not pinned.

        Unpinning never evicts; a store held above capacity by pins shrinks
        back at the next ``put`` or ``resize``.
        """
        block = self._blocks[key]
        if not block.pins:
            raise ValueError(f"block {key!r} is not pinned; unpin() without a matching pin()")
        block.pins -= 1
        if not block.pins:
            self._pinned -= block.size

    def __repr__(self):
        capacity = "unbounded" if self._capacity is None else f"{self._capacity}"
        return (
            f"<BlockStore {len(self._blocks)} blocks, "
            f"{self._used}/{capacity} bytes, {self._pinned} pinned>"
        )

    def __reduce__(self):
        raise TypeError(
            "a BlockStore holds one worker's live blocks and cannot be pickled; "
            "send the values, not the store"
        )
