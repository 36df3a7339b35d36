"""The worker's runtime: runs the tasks of stages shipped by the driver.

Transport-free: ``Worker.handle(message)`` takes one ``fastrdd.protocol``
message and answers through ``send``.  The local worker process
(``local.process``) and the cluster worker daemon wrap it in their
transport.  It never imports the RDD API or the scheduler.

State kept here: ``stages`` (blobs by stage id, dropped on ForgetStage),
``store`` (cached partitions, the ``_core`` block store) and ``directory``
(this worker's shuffle files, removed when the worker goes).
"""
import os
import pickle
import sys
from itertools import chain, islice

import fastrdd
from fastrdd import _impl, accumulators, broadcast, protocol
from fastrdd.errors import FetchFailedError, SpillCorruptedError
from fastrdd.storage.memory import HYSTERESIS, MemoryMonitor
from fastrdd.storage.spill import (RunWriter, SpillContext, encode_run, read_run, set_context,
                                   write_run)
from fastrdd.shuffle.writer import write_map_output
from fastrdd.shuffle.reader import read_reduce_input
from fastrdd.storage import blocks
from fastrdd.taskcontext import BarrierTaskContext, TaskContext


def estimate_size(records):
    """Rough bytes of a cached partition, from a sample of its records.

    A tuple or list record counts its items too (a pair's key and value
    weigh more than the pair): a shallow size would let the cache take
    twice its share of the budget.
    """
    n = len(records)
    if n == 0:
        return sys.getsizeof(records)
    step = max(1, n // 64)
    sample = records[::step]
    getsizeof = sys.getsizeof
    per = sum(getsizeof(r) + (sum(map(getsizeof, r)) if type(r) in (tuple, list) else 0)
              for r in sample) / len(sample)
    return int(getsizeof(records) + per * n)


#: records computed between two size estimates while a partition is unrolled
UNROLL_CHUNK = 4096


def unroll(records, limit):
    """``(list, None)`` of all the records if they fit in ``limit`` bytes, else
    ``(the records so far, the iterator of the rest)`` (Spark's unrolling: a
    partition too big to cache is never held whole in memory)."""
    iterator = iter(records)
    out, size = [], 0
    take = _impl.iterators.take  # a cached block's tuples of scalars: off the collector's lists
    while True:
        chunk = take(iterator, UNROLL_CHUNK)
        out.extend(chunk)
        if len(chunk) < UNROLL_CHUNK:
            return out, None
        if limit is not None:
            size += estimate_size(chunk)
            if size > limit:
                return out, iterator


class TaskRuntime:
    """Services a node tree uses while computing one task's partition."""

    def __init__(self, worker, payloads, locations):
        self.worker = worker
        self.payloads = payloads
        self.locations = locations
        #: (rdd_id, split) blocks this task added to the store
        self.cached = []
        #: (rdd_id, split) memory-only blocks the store dropped to make room
        self.evicted = []
        #: (rdd_id, split, block address) copies placed on other workers (``_2`` levels)
        self.replicas = []
        #: cProfile stats of the task, when profiling is on
        self.profile = None
        # what the task read and wrote (``protocol.TaskMetrics``), counted per batch
        # or per split where the records pass anyway, never per record where avoidable
        self.input_bytes = self.input_records = 0
        self.shuffle_read_bytes = self.shuffle_read_records = 0
        self.shuffle_write_bytes = self.shuffle_write_records = 0

    def payload(self, rdd_id, split):
        data = self.payloads.get((rdd_id, split)) if self.payloads else None
        if type(data) is protocol.PayloadRef:  # a big slice: read from the driver's area
            data = self.worker.fetcher.driver_get("payload", data.name)
            if data is None:
                raise RuntimeError(f"the driver no longer holds slice {split} of RDD {rdd_id}")
        return data

    def read_shuffle(self, shuffle_id, reduce_id, num_reduces, maps=None):
        addresses = self.locations[shuffle_id]
        first = 0
        if maps is not None:
            first, end = maps
            addresses = addresses[first:end]
        return read_reduce_input(self.worker.fetcher, shuffle_id, reduce_id, num_reduces,
                                 addresses, self, first)

    def get_or_compute(self, node, split):
        """A persisted partition: from memory, else from disk, else computed (and kept)."""
        key = ("rdd", node.rdd_id, split)
        store = self.worker.store
        records = store.get(key)
        if records is not None:
            return iter(records)
        use_disk, use_memory, copies = node.persist
        path = self.worker.block_path(key)
        limit = store.capacity_bytes
        if (use_disk or copies > 1) and os.path.exists(path):
            # on disk here: written by this worker, or a replica another one placed
            try:
                records, rest = unroll(read_run(path), limit if use_memory else 0)
            except SpillCorruptedError:  # damaged underneath us: recompute from lineage
                os.unlink(path)
            else:
                if rest is not None:  # too big for memory: streamed from the file
                    return chain(records, rest)
                kept = use_memory and self._keep(key, records)
                self.cached.append((node.rdd_id, split, kept or 0, os.path.getsize(path)))
                return iter(records)
        records, rest = unroll(node.compute(split, self), limit)
        if rest is not None:
            return self._too_big_for_memory(node, split, key, path, records, rest)
        on_disk = 0
        if use_disk:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_run(path, records, self.worker.compress_blocks)
            on_disk = os.path.getsize(path)
        if copies > 1:
            address = self.worker.replicate(key, records)
            if address is not None:
                self.replicas.append((node.rdd_id, split, address))
        in_memory = (use_memory and self._keep(key, records)) or 0
        if in_memory or use_disk:
            self.cached.append((node.rdd_id, split, in_memory, on_disk))
        return iter(records)

    def _too_big_for_memory(self, node, split, key, path, head, rest):
        """A partition bigger than the memory store: streamed to its disk block and
        read back one frame at a time, or (memory-only levels) not cached at all."""
        use_disk, _, copies = node.persist
        if not use_disk:
            return chain(head, rest)  # as Spark: not enough space to cache it, recomputed later
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        writer = RunWriter(tmp, self.worker.compress_blocks)
        try:
            writer.write(head)
            del head[:]
            while True:
                chunk = list(islice(rest, UNROLL_CHUNK))
                if not chunk:
                    break
                writer.write(chunk)
            writer.close()
            os.replace(tmp, path)
        except BaseException:
            writer.f.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        if copies > 1:
            address = self.worker.replicate(key, None)
            if address is not None:
                self.replicas.append((node.rdd_id, split, address))
        self.cached.append((node.rdd_id, split, 0, os.path.getsize(path)))
        return read_run(path)

    def _keep(self, key, records):
        """Put a partition in the memory store if it can make room: its size if it is there."""
        store = self.worker.store
        size = estimate_size(records)
        if not self.worker.make_room(key, size):
            return 0
        for evicted in store.put(key, records, size):
            self._evicted(evicted)
        return max(size, 1) if key in store else 0

    def _evicted(self, key):
        if not os.path.exists(self.worker.block_path(key)):
            self.evicted.append(key[1:])


class Worker:
    """The worker's state machine; ``send`` is its only way out."""

    #: tasks run on the driver's own thread (``inprocess``): a KeyboardInterrupt
    #: there may be the user's Ctrl-C, so it propagates to the driver as one
    on_driver_thread = False

    def __init__(self, send, directory, worker_id, fetcher, budget=None, hysteresis=HYSTERESIS,
                 spill_dirs=None, storage_fraction=0.5, compress_spills=True, compress_blocks=False,
                 address=None):
        self.send = send
        self.directory = directory
        self.worker_id = worker_id
        #: this worker's block address (its directory, or its block server's endpoint)
        self.address = address or directory
        #: the other workers' block addresses (``Peers``), for the copies of ``_2`` blocks
        self.peers = []
        #: reads what other workers and the driver hold (``storage.blocks``)
        self.fetcher = fetcher
        blocks.set_fetcher(fetcher)
        self.stages = {}
        #: bytes of memory this worker aims to stay under (None: no limit)
        self.budget = budget
        self.monitor = MemoryMonitor(budget, hysteresis=hysteresis)
        self.monitor.on_spill = self.shed_cache
        self.spill_dirs = spill_dirs or [os.path.join(directory, "spill")]
        #: LZ4 for spill runs (spark.shuffle.spill.compress) and disk blocks (spark.rdd.compress)
        self.compress_spills = compress_spills
        self.compress_blocks = compress_blocks
        capacity = int(budget * storage_fraction) if budget is not None else None
        self.store = _impl.blockstore.BlockStore(capacity)
        #: blocks dropped by make_room since the last task report
        self.dropped = []
        self.running = True

    def shed_cache(self):
        """A shuffle ran short of memory: cached blocks that also have a disk copy leave
        memory (they stay cached, read from disk), as Spark's execution memory evicts storage."""
        if self.store.used_bytes == 0:
            return
        for key in list(self.store.keys()):
            if os.path.exists(self.block_path(key)):
                self.store.remove(key)

    def make_room(self, key, size):
        """Evict other RDDs' blocks (oldest first) so ``key`` fits; False if it cannot.

        As in Spark, a partition never evicts partitions of its own RDD: with
        a scan that reads them in a cycle, LRU would evict exactly the
        partition needed next, and nothing would ever be reused.  Instead the
        partitions that fit stay, and the rest are recomputed (or read from
        disk) each time: time degrades gracefully with the cached fraction.
        """
        store = self.store
        capacity = store.capacity_bytes
        if capacity is None:
            return True
        if store.used_bytes + size <= capacity:
            return True
        others = [k for k in store.keys() if k[1] != key[1] or k[0] != key[0]]
        reclaimable = sum(store.size_of(k) for k in others)
        if store.used_bytes - reclaimable + size > capacity:
            return False
        for k in others:
            if store.used_bytes + size <= capacity:
                break
            store.remove(k)
            self.dropped.append(k)
        return True

    def replicate(self, key, records):
        """Copy a block to another worker (a ``_2`` storage level); its address, or None.

        The peer is chosen by the block's key, so that the copies of an RDD's
        partitions spread over the workers.  No peer (a single worker) or a
        peer that does not answer: the block simply has one copy.
        """
        if not self.peers:
            return None
        peer = self.peers[hash(key[1:]) % len(self.peers)]
        path = self.block_path(key)
        if os.path.exists(path):  # a disk level: the copy is the file already written
            with open(path, "rb") as f:
                data = f.read()
        else:
            data = encode_run(records, self.compress_blocks)
        return peer if self.fetcher.put_block(peer, os.path.basename(path), data) else None

    def host_and_pid(self):
        """``host:pid`` of this worker (the host its block server listens on, if remote)."""
        host = "127.0.0.1"
        if self.address.startswith("tcp://"):
            host = self.address[len("tcp://"):].split("|")[0].rsplit(":", 1)[0]
        return f"{host}:{os.getpid()}"

    def block_path(self, key):
        """Where a disk-level cached partition lives."""
        return os.path.join(self.directory, "blocks", "rdd_%d_%d.run" % (key[1], key[2]))

    def handle(self, msg):
        kind = type(msg)
        if kind is protocol.RunTask:
            self.run_task(msg)
        elif kind is protocol.StageBlob:
            self.stages[msg.stage_id] = msg.blob
        elif kind is protocol.ForgetStage:
            self.stages.pop(msg.stage_id, None)
        elif kind is protocol.Unpersist:
            self.unpersist(msg.rdd_id)
            if msg.ack:  # the driver waits (unpersist(blocking=True))
                self.send(protocol.Unpersisted(msg.rdd_id))
        elif kind is protocol.FileAdded:
            self.fetcher.file_added(msg.name, msg.archive)
        elif kind is protocol.AddPath:
            import importlib

            path = os.path.join(self.fetcher.files_dir(), msg.name)
            if path not in sys.path:
                sys.path.insert(1, path)
            importlib.invalidate_caches()
        elif kind is protocol.Unbroadcast:
            broadcast.forget(msg.broadcast_id)
        elif kind is protocol.RemoveShuffle:
            self.remove_shuffle(msg.shuffle_id)
        elif kind is protocol.Peers:
            self.peers = [a for a in msg.addresses if a != self.address]
        elif kind is protocol.Stop:
            self.running = False
        else:
            raise ValueError(f"unknown message {msg!r:.200} from the driver")

    def unpersist(self, rdd_id):
        """Drop an RDD's blocks from memory and disk."""
        self.store.remove_where(lambda key: key[0] == "rdd" and key[1] == rdd_id)
        blocks = os.path.join(self.directory, "blocks")
        for name in os.listdir(blocks) if os.path.isdir(blocks) else ():
            if name.startswith("rdd_%d_" % rdd_id):
                os.unlink(os.path.join(blocks, name))

    def stage(self, stage_id):
        stage = self.stages[stage_id]
        if isinstance(stage, bytes):
            stage = self.stages[stage_id] = pickle.loads(stage)
        return stage

    def run_task(self, task):
        task_id, stage_id, split, attempt, payloads, props = task
        runtime = spill = None
        try:
            kind, node, extra, locations = self.stage(stage_id)
            accumulators.reset_task_copies()
            runtime = TaskRuntime(self, payloads, locations)
            self.monitor.reset()
            spill = SpillContext(self.monitor, self.spill_dirs, compress=self.compress_spills)
            set_context(spill)
            if props and "fastrdd.barrier.tasks" in props:
                TaskContext._set(BarrierTaskContext(stage_id, split, attempt, task_id, props,
                                                    props["fastrdd.barrier.tasks"], self.fetcher,
                                                    self.host_and_pid()))
            else:
                TaskContext._set(TaskContext(stage_id, split, attempt, task_id, props))
            if props and props.get("fastrdd.profile"):
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                result = profiler.runcall(self.compute, kind, node, extra, split, runtime)
                runtime.profile = pstats.Stats(profiler).stats
            else:
                result = self.compute(kind, node, extra, split, runtime)
        except FetchFailedError as e:
            self.send(protocol.TaskFailed(task_id, "fetch", (e.shuffle_id, e.map_id), str(e)))
        except SpillCorruptedError as e:  # not the user's fault: the task is simply run again
            self.send(protocol.TaskFailed(task_id, "corrupt", None, str(e)))
        except BaseException as e:  # the user's error (sys.exit() too), reported whole
            if isinstance(e, KeyboardInterrupt) and self.on_driver_thread:
                e.add_note(f"(fastrdd: in partition {split} of stage {stage_id}, on the "
                           f"driver's thread)")
                raise
            import traceback

            text = traceback.format_exc()
            error = (dump_exception(user_error(e)), user_frames(e.__traceback__))
            self.send(protocol.TaskFailed(task_id, "error", error, text))
        else:
            for key in self.dropped:
                runtime._evicted(key)
            self.dropped = []
            self.send(protocol.TaskDone(
                task_id, result, runtime.cached, runtime.evicted,
                accumulators.collect_task_updates(), runtime.profile,
                (runtime.input_bytes, runtime.input_records, runtime.shuffle_read_bytes,
                 runtime.shuffle_read_records, runtime.shuffle_write_bytes,
                 runtime.shuffle_write_records, self.monitor.memory_bytes_spilled,
                 self.monitor.disk_bytes_spilled, len(result[1]) if kind == "result" else 0),
                runtime.replicas))
        finally:
            TaskContext._set(None)
            if spill is not None:
                spill.cleanup()
            set_context(None)

    def compute(self, kind, node, extra, split, runtime):
        if kind == "result":
            return protocol.encode_result(extra(split, node.iterator(split, runtime)))
        return write_map_output(self.directory, extra, split, node, runtime)

    def remove_shuffle(self, shuffle_id):
        prefix = blocks.shuffle_file_prefix(shuffle_id)
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in names:
            if name.startswith(prefix):
                try:
                    os.unlink(os.path.join(self.directory, name))
                except FileNotFoundError:
                    pass


def user_error(exc):
    """StopIteration from user code would silently end a partition: fail instead (as PySpark)."""
    if isinstance(exc, StopIteration) or (isinstance(exc, RuntimeError)
                                          and isinstance(exc.__cause__, StopIteration)):
        error = RuntimeError("Caught StopIteration thrown from user's code; failing the task")
        error.__cause__ = exc
        return error
    return exc


def user_frames(tb):
    """The frames of a worker traceback as a dict (tblib), each marked engine or not.

    The driver rebuilds real traceback objects from it, so debuggers and
    notebooks show the user's source lines; it drops the engine's frames
    unless asked to show them.
    """
    from tblib import Traceback

    frames = Traceback(tb).to_dict()
    node = frames
    while node is not None:
        filename = node["tb_frame"]["f_code"]["co_filename"]
        node["tb_frame"]["f_globals"]["__fastrdd_engine__"] = os.path.abspath(
            filename).startswith(fastrdd.PACKAGE_DIR + os.sep)
        node = node.get("tb_next")
    return frames


def dump_exception(exc):
    """Pickle an exception for the driver, or a stand-in naming its type."""
    import cloudpickle

    from fastrdd.errors import TaskError

    try:
        data = cloudpickle.dumps(exc, protocol=5)
        pickle.loads(data)  # some exceptions pickle but cannot be rebuilt
        return data
    except Exception:
        return pickle.dumps(TaskError(type(exc).__qualname__, str(exc)), protocol=5)


def die_with_parent():
    """Ask Linux to kill this process when the process that started it dies (best effort)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
