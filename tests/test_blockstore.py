"""Tests of ``fastrdd._core.blockstore``: both twins, one suite.

Every test takes the ``impl`` fixture, so it runs against the compiled module
and against the pure-Python twin.  ``test_matches_reference_model`` drives
each twin and a deliberately naive model (lists and sums, no cleverness)
through random operation sequences with Hypothesis and compares everything a
caller can observe after every step.
"""
import gc
import pickle
import weakref

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

COMPILED = "fastrdd._core.blockstore"
TWIN = "fastrdd._core.blockstore_py"


@pytest.fixture(scope="module", params=["compiled", "pure"])
def impl(request):
    """The module under test; the compiled param fails if it is not built."""
    from fastrdd._impl import BLOCKSTORE_API, load, want_pure

    pure = request.param == "pure"
    module = load(COMPILED, TWIN, BLOCKSTORE_API, pure=pure)
    if not pure and module.__name__ != COMPILED:
        if want_pure():
            pytest.skip("FASTRDD_PUREPYTHON is set and the compiled store is not built")
        pytest.fail(
            f"{COMPILED} is not built; run `cythonize -i -3 fastrdd/_core/blockstore.pyx` "
            "(or set FASTRDD_PUREPYTHON=1 to test the twin only)"
        )
    return module


@pytest.fixture(scope="module")
def twin():
    """The specification, to compare error messages against."""
    from fastrdd._impl import BLOCKSTORE_API, load

    return load(COMPILED, TWIN, BLOCKSTORE_API, pure=True)


def rdd(rdd_id, partition):
    return ("rdd", rdd_id, partition)


# -- construction and properties ---------------------------------------------


def test_empty_store(impl):
    store = impl.BlockStore()
    assert len(store) == 0
    assert store.keys() == []
    assert store.used_bytes == 0
    assert store.capacity_bytes is None
    assert store.get(rdd(0, 0)) is None
    assert store.get(rdd(0, 0), "missing") == "missing"
    assert rdd(0, 0) not in store


@pytest.mark.parametrize("bad", [-1, -(2**70)])
def test_negative_capacity_is_rejected(impl, bad):
    with pytest.raises(ValueError, match=f"capacity_bytes must be >= 0 or None, got {bad}"):
        impl.BlockStore(bad)


def test_capacity_type_and_range(impl):
    with pytest.raises(TypeError, match="capacity_bytes must be an integer .* got float"):
        impl.BlockStore(1.5)
    with pytest.raises(OverflowError, match="capacity_bytes must be <= 2"):
        impl.BlockStore(2**63)
    assert impl.BlockStore(2**63 - 1).capacity_bytes == impl.MAX_BYTES == 2**63 - 1
    assert impl.BlockStore(True).capacity_bytes == 1  # operator.index rules


# -- put / get ---------------------------------------------------------------


def test_put_get_and_lru_order(impl):
    store = impl.BlockStore()
    for p in range(3):
        assert store.put(rdd(1, p), [p], 10) == []
    assert store.keys() == [rdd(1, 0), rdd(1, 1), rdd(1, 2)]
    assert store.get(rdd(1, 0)) == [0]
    assert store.keys() == [rdd(1, 1), rdd(1, 2), rdd(1, 0)]
    assert store.used_bytes == 30
    assert len(store) == 3
    assert rdd(1, 1) in store
    # membership, size_of and pin do not count as a use
    store.size_of(rdd(1, 1))
    store.pin(rdd(1, 1))
    store.unpin(rdd(1, 1))
    assert store.keys() == [rdd(1, 1), rdd(1, 2), rdd(1, 0)]


def test_get_returns_the_same_object(impl):
    store = impl.BlockStore()
    records = [1, 2, 3]
    store.put(("broadcast", 4), records, 24)
    assert store.get(("broadcast", 4)) is records


def test_stored_none_is_not_missing(impl):
    store = impl.BlockStore()
    store.put("k", None, 0)
    assert store.get("k", "default") is None
    assert "k" in store


def test_replace_updates_value_size_and_order(impl):
    store = impl.BlockStore()
    store.put("a", 1, 10)
    store.put("b", 2, 10)
    assert store.put("a", 3, 25) == []
    assert store.keys() == ["b", "a"]
    assert store.get("a") == 3
    assert store.size_of("a") == 25
    assert store.used_bytes == 35


def test_replace_keeps_the_original_key_object(impl):
    first, second = tuple(["rdd", 1, 5]), tuple(["rdd", 1, 5])
    assert first == second and first is not second
    store = impl.BlockStore()
    store.put(first, 1, 1)
    store.put(second, 2, 1)
    assert store.keys()[0] is first
    assert store.get(first) == 2


def test_put_evicts_least_recently_used(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 40)
    store.put("b", 2, 40)
    store.get("a")
    assert store.put("c", 3, 40) == ["b"]
    assert store.keys() == ["a", "c"]
    assert store.put("d", 4, 90) == ["a", "c"]
    assert store.keys() == ["d"]
    assert store.used_bytes == 90


def test_block_exactly_at_capacity_fits(impl):
    store = impl.BlockStore(50)
    store.put("a", 1, 20)
    assert store.put("b", 2, 30) == []
    assert store.used_bytes == 50


def test_block_larger_than_capacity_is_not_kept(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 60)
    assert store.put("big", 2, 101) == ["big"]
    assert "big" not in store
    assert store.keys() == ["a"]  # nothing evicted for a block that cannot fit
    assert store.used_bytes == 60


def test_replacement_too_big_drops_the_old_version(impl):
    store = impl.BlockStore(100)
    store.put("a", "old", 60)
    store.put("b", 2, 10)
    assert store.put("a", "new", 200) == ["a"]
    assert store.keys() == ["b"]
    assert store.used_bytes == 10


def test_zero_capacity_holds_only_empty_blocks(impl):
    store = impl.BlockStore(0)
    assert store.put("a", 1, 1) == ["a"]
    assert store.put("b", 2, 0) == []
    assert store.keys() == ["b"]


@pytest.mark.parametrize("bad", [-1, -(2**64)])
def test_negative_size_names_the_block(impl, bad):
    store = impl.BlockStore()
    with pytest.raises(ValueError, match=rf"size of block \('rdd', 2, 5\) must be >= 0, got {bad}"):
        store.put(rdd(2, 5), [], bad)
    assert len(store) == 0


def test_size_type_and_range(impl):
    store = impl.BlockStore()
    with pytest.raises(TypeError, match="size of block 'k' must be an integer .* got float"):
        store.put("k", [], 1.0)
    with pytest.raises(TypeError, match="got str"):
        store.put("k", [], "10")
    with pytest.raises(OverflowError, match="size of block 'k' must be <= 2"):
        store.put("k", [], 2**63)
    assert len(store) == 0


def test_total_beyond_int64_is_refused_without_change(impl):
    store = impl.BlockStore()
    store.put("a", 1, 2**62)
    store.put("b", 2, 2**62 - 1)
    assert store.used_bytes == impl.MAX_BYTES
    with pytest.raises(OverflowError, match=r"block 'c' of 1 bytes would take the store past"):
        store.put("c", 3, 1)
    assert store.keys() == ["a", "b"]
    with pytest.raises(OverflowError):
        store.put("a", 1, 2**62 + 1)
    assert store.keys() == ["a", "b"]
    assert store.get("a") == 1
    # replacing "a" frees its bytes first, so the same size fits again
    assert store.put("a", 4, 2**62) == []
    assert store.used_bytes == impl.MAX_BYTES


def test_size_accepts_index_types(impl):
    class Size:
        def __index__(self):
            return 7

    store = impl.BlockStore()
    store.put("k", [], Size())
    store.put("t", [], True)
    assert store.size_of("k") == 7
    assert store.used_bytes == 8


def test_unhashable_key(impl):
    store = impl.BlockStore()
    with pytest.raises(TypeError):
        store.put(["list"], 1, 1)
    with pytest.raises(TypeError):
        store.get(["list"])
    with pytest.raises(TypeError):
        ["list"] in store  # noqa: B015


def test_size_of_missing_key(impl):
    with pytest.raises(KeyError):
        impl.BlockStore().size_of("nope")


# -- capacity changes --------------------------------------------------------


def test_lowering_capacity_evicts(impl):
    store = impl.BlockStore()
    for key in "abcd":
        store.put(key, key, 10)
    store.get("a")
    assert store.resize(25) == ["b", "c"]
    assert store.keys() == ["d", "a"]
    store.capacity_bytes = 10
    assert store.keys() == ["a"]
    assert store.capacity_bytes == 10
    store.capacity_bytes = None
    assert store.capacity_bytes is None
    assert store.resize(None) == []


def test_raising_capacity_evicts_nothing(impl):
    store = impl.BlockStore(30)
    store.put("a", 1, 30)
    assert store.resize(100) == []
    assert store.keys() == ["a"]


def test_invalid_resize_keeps_the_old_capacity(impl):
    store = impl.BlockStore(30)
    with pytest.raises(ValueError):
        store.capacity_bytes = -5
    assert store.capacity_bytes == 30


# -- remove / remove_where / clear -------------------------------------------


def test_remove(impl):
    store = impl.BlockStore()
    store.put("a", 1, 10)
    assert store.remove("a") is True
    assert store.remove("a") is False
    assert store.used_bytes == 0
    assert len(store) == 0


def test_remove_where_drops_one_rdd(impl):
    store = impl.BlockStore()
    for p in range(3):
        store.put(rdd(1, p), p, 1)
        store.put(rdd(2, p), p, 1)
    store.put(("broadcast", 1), "b", 5)
    store.get(rdd(1, 0))
    removed = store.remove_where(lambda key: key[:2] == ("rdd", 1))
    assert removed == [rdd(1, 1), rdd(1, 2), rdd(1, 0)]
    assert store.keys() == [rdd(2, 0), rdd(2, 1), rdd(2, 2), ("broadcast", 1)]
    assert store.used_bytes == 8
    assert store.remove_where(lambda key: False) == []


def test_remove_where_is_all_or_nothing(impl):
    store = impl.BlockStore()
    for p in range(3):
        store.put(rdd(1, p), p, 1)
    store.pin(rdd(1, 2))
    with pytest.raises(BufferError, match=r"block \('rdd', 1, 2\) is in use by 1 reader"):
        store.remove_where(lambda key: key[1] == 1)
    assert len(store) == 3

    def boom(key):
        if key == rdd(1, 1):
            raise RuntimeError("predicate failed")
        return True

    with pytest.raises(RuntimeError, match="predicate failed"):
        store.remove_where(boom)
    assert len(store) == 3
    assert store.used_bytes == 3


def test_clear(impl):
    store = impl.BlockStore(100)
    for key in "abc":
        store.put(key, key, 10)
    store.pin("b")
    with pytest.raises(BufferError, match="block 'b' is in use by 1 reader"):
        store.clear()
    assert store.keys() == ["a", "b", "c"]
    store.unpin("b")
    store.clear()
    assert store.keys() == []
    assert store.used_bytes == 0
    assert store.capacity_bytes == 100
    store.put("d", 4, 100)
    assert store.keys() == ["d"]


# -- pins --------------------------------------------------------------------


def test_pinned_block_is_never_evicted(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 40)
    store.put("b", 2, 40)
    store.pin("a")
    assert store.put("c", 3, 40) == ["b"]
    assert store.keys() == ["a", "c"]
    store.unpin("a")
    assert store.put("d", 4, 40) == ["a"]


def test_block_that_cannot_fit_beside_pins_evicts_nothing(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 70)
    store.put("b", 2, 20)
    store.pin("a")
    assert store.put("c", 3, 40) == ["c"]
    assert store.keys() == ["a", "b"]
    assert store.used_bytes == 90


def test_pins_are_counted(impl):
    store = impl.BlockStore()
    store.put("a", 1, 10)
    store.pin("a")
    store.pin("a")
    assert store.pin_count("a") == 2
    with pytest.raises(BufferError, match="block 'a' is in use by 2 readers"):
        store.remove("a")
    store.unpin("a")
    with pytest.raises(BufferError, match="block 'a' is in use by 1 reader;"):
        store.remove("a")
    store.unpin("a")
    assert store.pin_count("a") == 0
    with pytest.raises(ValueError, match="block 'a' is not pinned"):
        store.unpin("a")
    assert store.remove("a") is True


def test_pin_and_unpin_missing_key(impl):
    store = impl.BlockStore()
    with pytest.raises(KeyError):
        store.pin("a")
    with pytest.raises(KeyError):
        store.unpin("a")
    with pytest.raises(KeyError):
        store.pin_count("a")


def test_replacing_a_pinned_block_is_refused(impl):
    store = impl.BlockStore()
    store.put("a", "old", 10)
    store.pin("a")
    with pytest.raises(BufferError, match="block 'a' is in use by 1 reader"):
        store.put("a", "new", 10)
    assert store.get("a") == "old"
    assert store.used_bytes == 10


def test_pins_can_hold_the_store_over_capacity(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 60)
    store.put("b", 2, 30)
    store.pin("a")
    assert store.resize(50) == ["b"]
    assert store.used_bytes == 60  # over the bound, held by the pin
    assert store.put("c", 3, 0) == ["c"]  # nothing fits beside the pins
    store.unpin("a")
    assert store.used_bytes == 60  # unpin does not evict...
    assert store.put("c", 3, 10) == ["a"]  # ...the next put restores the bound
    assert store.keys() == ["c"]


def test_pinned_bytes_follow_pins(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 50)
    store.pin("a")
    store.pin("a")
    store.unpin("a")
    # still pinned once: 50 pinned + 60 new > 100
    assert store.put("b", 2, 60) == ["b"]
    store.unpin("a")
    assert store.put("b", 2, 60) == ["a"]


# -- twins agree on everything else -------------------------------------------


def test_error_messages_match_the_twin(impl, twin):
    def messages(module):
        out = []
        store = module.BlockStore(10)
        store.put(rdd(1, 0), 0, 5)
        store.pin(rdd(1, 0))
        store.pin(rdd(1, 0))
        calls = [
            lambda: store.put(rdd(1, 1), 0, -3),
            lambda: store.put(rdd(1, 1), 0, 2**64),
            lambda: store.put(rdd(1, 1), 0, 1.5),
            lambda: store.put(rdd(1, 0), 0, 1),
            lambda: store.remove(rdd(1, 0)),
            lambda: store.clear(),
            lambda: store.remove_where(lambda k: True),
            lambda: store.unpin(rdd(9, 9)),
            lambda: module.BlockStore(-1),
            lambda: module.BlockStore("10"),
            lambda: module.BlockStore(2**63),
        ]
        for call in calls:
            with pytest.raises(Exception) as info:
                call()
            out.append((type(info.value), str(info.value)))
        store.unpin(rdd(1, 0))
        store.unpin(rdd(1, 0))
        with pytest.raises(ValueError) as info:
            store.unpin(rdd(1, 0))
        out.append((ValueError, str(info.value)))
        out.append(repr(store))
        return out

    assert messages(impl) == messages(twin)


def test_repr(impl):
    store = impl.BlockStore(100)
    store.put("a", 1, 10)
    store.pin("a")
    assert repr(store) == "<BlockStore 1 blocks, 10/100 bytes, 10 pinned>"
    assert repr(impl.BlockStore()) == "<BlockStore 0 blocks, 0/unbounded bytes, 0 pinned>"


def test_refuses_pickling(impl):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(impl.BlockStore())


def test_same_public_names(impl, twin):
    public = {name for name in dir(twin.BlockStore) if not name.startswith("_")}
    assert public <= set(dir(impl.BlockStore))
    assert impl.__all__ == twin.__all__ == ["BlockStore"]


def test_values_are_released(impl):
    class Value:
        pass

    store = impl.BlockStore(10)
    refs = []
    for key in "abc":
        value = Value()
        refs.append(weakref.ref(value))
        store.put(key, value, 5)
    del value
    gc.collect()
    assert refs[0]() is None  # evicted by "c"
    store.remove("b")
    assert refs[1]() is None
    store.clear()
    assert refs[2]() is None


def test_cycle_through_a_value_is_collected(impl):
    class Value:
        pass

    store = impl.BlockStore()
    value = Value()
    value.store = store
    store.put("self", value, 1)
    ref = weakref.ref(value)
    del store, value
    gc.collect()
    assert ref() is None


def test_value_finaliser_may_use_the_store(impl):
    store = impl.BlockStore(10)
    seen = []

    class Value:
        def __del__(self):
            seen.append((store.keys(), store.used_bytes))

    store.put("a", Value(), 10)
    assert store.put("b", 1, 10) == ["a"]
    assert seen == [(["b"], 10)]
    store.put("c", Value(), 0)
    store.remove("c")
    assert seen[-1] == (["b"], 10)


# -- random operation sequences against a reference model ----------------------


class Model:
    """The rules in their most obvious form: a list for the order, sums for
    the byte counts, no incremental bookkeeping to get wrong."""

    def __init__(self):
        self.capacity = None
        self.order = []  # keys, least recently used first
        self.blocks = {}  # key -> [value, size, pins]

    def used(self):
        return sum(size for _, size, _ in self.blocks.values())

    def _drop(self, key):
        self.order.remove(key)
        del self.blocks[key]

    def _evict(self):
        evicted = []
        for key in list(self.order):
            if self.capacity is None or self.used() <= self.capacity:
                break
            if self.blocks[key][2] == 0:
                self._drop(key)
                evicted.append(key)
        return evicted

    def put(self, key, value, size):
        if size < 0:
            raise ValueError(size)
        if key in self.blocks:
            if self.blocks[key][2]:
                raise BufferError(key)
            self._drop(key)
        pinned = sum(size for _, size, pins in self.blocks.values() if pins)
        if self.capacity is not None and pinned + size > self.capacity:
            return [key]
        self.blocks[key] = [value, size, 0]
        self.order.append(key)
        return self._evict()

    def get(self, key):
        if key not in self.blocks:
            return None
        self.order.remove(key)
        self.order.append(key)
        return self.blocks[key][0]

    def resize(self, capacity):
        self.capacity = capacity
        return self._evict()

    def remove(self, key):
        if key not in self.blocks:
            return False
        if self.blocks[key][2]:
            raise BufferError(key)
        self._drop(key)
        return True

    def remove_where(self, predicate):
        matched = [key for key in self.order if predicate(key)]
        if any(self.blocks[key][2] for key in matched):
            raise BufferError(matched)
        for key in matched:
            self._drop(key)
        return matched

    def clear(self):
        if any(pins for _, _, pins in self.blocks.values()):
            raise BufferError
        self.order.clear()
        self.blocks.clear()

    def pin(self, key):
        self.blocks[key][2] += 1

    def unpin(self, key):
        if self.blocks[key][2] == 0:
            raise ValueError(key)
        self.blocks[key][2] -= 1


# Few keys and round sizes, so that replacement, eviction, pins and
# "exactly at capacity" collide often.
KEYS = st.sampled_from([rdd(r, p) for r in range(3) for p in range(2)] + [("broadcast", 0)])
SIZES = st.sampled_from([-1, 0, 10, 20, 30, 50])
CAPACITIES = st.sampled_from([None, 0, 10, 30, 50, 60, 100])


class StoreMachine(RuleBasedStateMachine):
    """Applies each operation to the model and the store; both must return
    the same result or raise the same exception type."""

    module = None  # set by the test to the twin under test

    def __init__(self):
        super().__init__()
        self.model = Model()
        self.store = self.module.BlockStore()
        self.counter = 0

    def both(self, name, *args):
        outcomes = []
        for target in (self.model, self.store):
            try:
                outcomes.append(("ok", getattr(target, name)(*args)))
            except (ValueError, KeyError, BufferError) as e:
                outcomes.append(("raised", type(e)))
        assert outcomes[0] == outcomes[1], (name, args, outcomes)

    @initialize(capacity=CAPACITIES)
    def start_bounded(self, capacity):
        self.both("resize", capacity)

    @rule(key=KEYS, size=SIZES)
    def put(self, key, size):
        self.counter += 1
        self.both("put", key, (key, self.counter), size)

    def held(self, data, pinned=False):
        """A key the store holds (pinned ones, if asked and any), or any key
        now and then, so that rules on present blocks are not rare."""
        keys = [k for k in self.model.order if self.model.blocks[k][2] or not pinned]
        if keys:
            return data.draw(st.sampled_from(keys) | KEYS)
        return data.draw(KEYS)

    @rule(data=st.data())
    def get(self, data):
        self.both("get", self.held(data))

    @rule(data=st.data())
    def remove(self, data):
        self.both("remove", self.held(data))

    @rule(rdd_id=st.integers(0, 3))
    def remove_rdd(self, rdd_id):
        self.both("remove_where", lambda key: key[:2] == ("rdd", rdd_id))

    @rule(data=st.data())
    def replace(self, data):
        key = self.held(data)
        self.counter += 1
        self.both("put", key, (key, self.counter), data.draw(SIZES))

    @rule(dice=st.integers(0, 7))
    def clear(self, dice):
        # A rule without arguments is drawn often, and a clear wipes out the
        # state every other rule builds up: only one draw in eight clears.
        if dice == 7:
            self.both("clear")

    @rule(data=st.data())
    def pin(self, data):
        self.both("pin", self.held(data))

    @rule(data=st.data())
    def unpin(self, data):
        self.both("unpin", self.held(data, pinned=True))

    @rule(capacity=CAPACITIES)
    def resize(self, capacity):
        self.both("resize", capacity)

    @rule(capacity=CAPACITIES)
    def set_capacity(self, capacity):
        self.model.resize(capacity)
        self.store.capacity_bytes = capacity

    @invariant()
    def observable_state_agrees(self):
        model, store = self.model, self.store
        assert store.keys() == model.order
        assert len(store) == len(model.order)
        assert store.used_bytes == model.used()
        assert store.capacity_bytes == model.capacity
        for key, (_, size, pins) in model.blocks.items():
            assert key in store
            assert store.size_of(key) == size
            assert store.pin_count(key) == pins


def test_matches_reference_model(impl):
    machine = type("Machine", (StoreMachine,), {"module": impl})
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=200, stateful_step_count=50, deadline=None),
    )
