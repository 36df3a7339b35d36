# cython: language_level=3, embedsignature=True
"""The worker's in-memory block store, compiled.

``blockstore_py.py`` is the specification (its docstring has the data flow,
the state and the rules of ``put``); this twin must behave identically, and
``tests/test_blockstore.py`` holds both to one reference model.

Layout: a dict maps each key to a ``_Block`` node, and the nodes form a
circular doubly linked list through a sentinel ``_root``, least recently used
right after the sentinel, newest right before it::

    _root <-> oldest <-> ... <-> newest <-> (_root)

The links are borrowed ``PyObject*`` pointers: the dict owns every node and
the store owns ``_root``, so moving a block to the newest end is four pointer
writes, with no reference counting and no reference cycles between nodes.
Every node must therefore be unlinked before the dict lets go of it.  Nodes
and values that leave the store are released only when the method returns,
after the bookkeeping is consistent again, so a value's ``__del__`` that
touches the store sees a valid state.

Why not an ``OrderedDict`` with ``move_to_end``: a compiled variant built
that way measured 135 ns per ``get``, 196 ns per replacing ``put`` and
647 ns per evicting ``put``, against 88, 154 and 359 ns for this list
(timeit, 1000 keys, Python 3.11); ``benchmarks/bench_blockstore.py`` times
this module against its pure twin.
"""
cimport cython
from cpython.dict cimport PyDict_DelItem, PyDict_GetItemWithError, PyDict_SetItem
from cpython.ref cimport PyObject
from libc.stdint cimport INT64_MAX, int64_t

# Only the error messages use it, to print a non-int size as the twin does.
from operator import index as _index

__all__ = ["BlockStore"]

#: Largest size (and total) a store accounts for: sizes are C ``int64_t``.
MAX_BYTES = INT64_MAX

cdef extern from "Python.h":
    # Uses __index__ (like operator.index); *overflow is set to +1/-1 instead
    # of raising when the value does not fit.
    long long PyLong_AsLongLongAndOverflow(object obj, int* overflow) except? -1


@cython.final
@cython.freelist(64)
cdef class _Block:
    """One stored block and its place in the LRU list."""

    cdef:
        object key          # the dict key, kept so eviction can report it
        object value        # the cached object, usually a list of records
        int64_t size        # caller's estimate in bytes, 0 <= size <= MAX_BYTES
        Py_ssize_t pins     # running readers; > 0 forbids eviction and removal
        PyObject* prev      # borrowed: older neighbour (or the sentinel)
        PyObject* next      # borrowed: newer neighbour (or the sentinel)


cdef inline void _unlink(_Block b) noexcept:
    (<_Block>b.prev).next = b.next
    (<_Block>b.next).prev = b.prev


cdef inline void _link_newest(_Block root, _Block b) noexcept:
    b.prev = root.prev
    b.next = <PyObject*>root
    (<_Block>root.prev).next = <PyObject*>b
    root.prev = <PyObject*>b


cdef int64_t _check_size(object key, object size) except -1:
    """Return ``size`` as int64, or raise naming the block (as the twin)."""
    cdef:
        int overflow = 0
        long long n
    try:
        n = PyLong_AsLongLongAndOverflow(size, &overflow)
    except TypeError:
        raise TypeError(
            f"size of block {key!r} must be an integer number of bytes, "
            f"got {type(size).__name__}"
        ) from None
    if overflow > 0:
        raise OverflowError(
            f"size of block {key!r} must be <= 2**63 - 1, got {_index(size)}")
    if overflow < 0 or n < 0:
        raise ValueError(f"size of block {key!r} must be >= 0, got {_index(size)}")
    return n


cdef int64_t _check_capacity(object capacity_bytes) except -2:
    """Return ``capacity_bytes`` as int64, -1 for None, or raise."""
    cdef:
        int overflow = 0
        long long n
    if capacity_bytes is None:
        return -1
    try:
        n = PyLong_AsLongLongAndOverflow(capacity_bytes, &overflow)
    except TypeError:
        raise TypeError(
            "capacity_bytes must be an integer number of bytes or None, "
            f"got {type(capacity_bytes).__name__}"
        ) from None
    if overflow > 0:
        raise OverflowError(
            f"capacity_bytes must be <= 2**63 - 1, got {_index(capacity_bytes)}")
    if overflow < 0 or n < 0:
        raise ValueError(
            f"capacity_bytes must be >= 0 or None, got {_index(capacity_bytes)}")
    return n


cdef _in_use(object key, Py_ssize_t pins):
    return BufferError(
        f"block {key!r} is in use by {pins} reader{'s' if pins != 1 else ''}; "
        "unpin it before replacing or removing it"
    )


@cython.no_gc_clear  # a cycle through a stored value must not None-out _root
cdef class BlockStore:
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

    cdef:
        dict _blocks        # key -> _Block; owns every node
        _Block _root        # sentinel of the circular LRU list
        int64_t _capacity   # bound on _used, or -1 for unbounded
        int64_t _used       # sum of all block sizes
        int64_t _pinned     # sum of sizes of pinned blocks (unevictable)

    def __cinit__(self, *args, **kwargs):
        # Allocated here, not in __init__, so that no method can ever see a
        # store without its dict and sentinel (even via BlockStore.__new__).
        self._blocks = {}
        self._root = _Block.__new__(_Block)
        self._root.prev = self._root.next = <PyObject*>self._root
        self._capacity = -1

    def __init__(self, capacity_bytes=None):
        self._capacity = _check_capacity(capacity_bytes)

    cdef inline _Block _find(self, object key):
        """The node under ``key`` or None (a new reference, so it survives
        the dict dropping it)."""
        cdef PyObject* p = PyDict_GetItemWithError(self._blocks, key)
        if p is NULL:
            return None
        return <_Block>p

    # -- reading -----------------------------------------------------------

    def get(self, key, default=None):
        """Return the value stored under ``key`` (and make it the newest),
        or ``default`` if there is none."""
        cdef _Block b = self._find(key)
        if b is None:
            return default
        if b.next != <PyObject*>self._root:
            _unlink(b)
            _link_newest(self._root, b)
        return b.value

    def __contains__(self, key):
        return key in self._blocks

    def __len__(self):
        return len(self._blocks)

    def keys(self):
        """Keys of all blocks, least recently used first."""
        cdef:
            list out = []
            PyObject* root = <PyObject*>self._root
            PyObject* p = self._root.next
        while p != root:
            out.append((<_Block>p).key)
            p = (<_Block>p).next
        return out

    def size_of(self, key):
        """Size in bytes given when ``key`` was put; ``KeyError`` if absent."""
        cdef _Block b = self._find(key)
        if b is None:
            raise KeyError(key)
        return b.size

    def pin_count(self, key):
        """Number of readers pinning ``key``; ``KeyError`` if absent."""
        cdef _Block b = self._find(key)
        if b is None:
            raise KeyError(key)
        return b.pins

    @property
    def used_bytes(self):
        """Sum of the sizes of all blocks held."""
        return self._used

    @property
    def capacity_bytes(self):
        """Bound on ``used_bytes`` (``None``: unbounded).  Setting it evicts
        like ``resize`` but cannot report the keys; prefer ``resize``."""
        return None if self._capacity < 0 else self._capacity

    @capacity_bytes.setter
    def capacity_bytes(self, capacity_bytes):
        self.resize(capacity_bytes)

    # -- writing -----------------------------------------------------------

    def put(self, key, value, size):
        """Store ``value`` under ``key`` as the newest block.

        Returns the list of keys no longer held because of this call: the
        blocks evicted, oldest first, or ``[key]`` when the new block itself
        cannot fit beside the pinned ones.  See ``blockstore_py`` for the
        rules.
        """
        cdef:
            int64_t n = _check_size(key, size)
            int64_t used = self._used
            _Block b = self._find(key)
            object old_value   # released on return, after the books balance
        if b is not None:
            if b.pins:
                raise _in_use(key, b.pins)
            used -= b.size
        if used > INT64_MAX - n:
            raise OverflowError(
                f"block {key!r} of {n} bytes would take the store past 2**63 - 1 bytes")
        if self._capacity >= 0 and self._pinned + n > self._capacity:
            if b is not None:  # the old version was replaced by one that did not fit
                _unlink(b)
                PyDict_DelItem(self._blocks, key)
                self._used = used
            return [key]
        if b is None:
            b = _Block.__new__(_Block)
            b.key = key
            b.value = value
            PyDict_SetItem(self._blocks, key, b)
            _link_newest(self._root, b)
        else:
            old_value = b.value   # the node keeps its original key object
            b.value = value
            if b.next != <PyObject*>self._root:
                _unlink(b)
                _link_newest(self._root, b)
        b.size = n
        self._used = used + n
        if self._capacity >= 0 and self._used > self._capacity:
            return self._evict()
        return []

    def resize(self, capacity_bytes):
        """Set ``capacity_bytes``; return the keys evicted to meet it.

        Pinned blocks stay even if they alone exceed the new bound.
        """
        self._capacity = _check_capacity(capacity_bytes)
        if self._capacity >= 0 and self._used > self._capacity:
            return self._evict()
        return []

    cdef list _evict(self):
        """Drop unpinned blocks, oldest first, until used <= capacity."""
        cdef:
            list victims = []   # holds the nodes until the books balance
            PyObject* root = <PyObject*>self._root
            PyObject* p = self._root.next
            _Block b
        while p != root and self._used > self._capacity:
            b = <_Block>p
            p = b.next
            if b.pins:
                continue
            victims.append(b)
            _unlink(b)
            PyDict_DelItem(self._blocks, b.key)
            self._used -= b.size
        return [(<_Block>b).key for b in victims]

    def remove(self, key):
        """Drop the block under ``key``; return whether there was one.

        Raises ``BufferError`` if the block is pinned.
        """
        cdef _Block b = self._find(key)
        if b is None:
            return False
        if b.pins:
            raise _in_use(key, b.pins)
        _unlink(b)
        PyDict_DelItem(self._blocks, key)
        self._used -= b.size
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
        cdef:
            list matched = [key for key in self.keys() if predicate(key)]
            list victims = []   # holds the nodes until the books balance
            list removed = []
            _Block b
        for key in matched:
            b = self._find(key)
            if b is not None and b.pins:
                raise _in_use(key, b.pins)
        for key in matched:
            b = self._find(key)
            if b is not None:  # predicate may have mutated the store
                victims.append(b)
                _unlink(b)
                PyDict_DelItem(self._blocks, key)
                self._used -= b.size
                removed.append(key)
        return removed

    def clear(self):
        """Drop every block; ``BufferError`` (and nothing dropped) if any is
        pinned."""
        cdef:
            PyObject* root = <PyObject*>self._root
            PyObject* p = self._root.next
            dict blocks = self._blocks   # released on return, after the reset
        while p != root:
            if (<_Block>p).pins:
                raise _in_use((<_Block>p).key, (<_Block>p).pins)
            p = (<_Block>p).next
        self._blocks = {}
        self._root.prev = self._root.next = root
        self._used = 0

    # -- readers -----------------------------------------------------------

    def pin(self, key):
        """Count one more reader of ``key``; ``KeyError`` if absent.

        Pinning does not change the LRU order.
        """
        cdef _Block b = self._find(key)
        if b is None:
            raise KeyError(key)
        if not b.pins:
            self._pinned += b.size
        b.pins += 1

    def unpin(self, key):
        """Count one reader fewer; ``ValueError`` if ``key`` is not pinned.

        Unpinning never evicts; a store held above capacity by pins shrinks
        back at the next ``put`` or ``resize``.
        """
        cdef _Block b = self._find(key)
        if b is None:
            raise KeyError(key)
        if not b.pins:
            raise ValueError(f"block {key!r} is not pinned; unpin() without a matching pin()")
        b.pins -= 1
        if not b.pins:
            self._pinned -= b.size

    def __repr__(self):
        capacity = "unbounded" if self._capacity < 0 else f"{self._capacity}"
        return (
            f"<BlockStore {len(self._blocks)} blocks, "
            f"{self._used}/{capacity} bytes, {self._pinned} pinned>"
        )

    def __reduce__(self):
        raise TypeError(
            "a BlockStore holds one worker's live blocks and cannot be pickled; "
            "send the values, not the store"
        )
