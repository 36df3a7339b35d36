"""Checkpoints: an RDD's partitions written to files, its lineage cut there.

``rdd.checkpoint()`` only marks the RDD.  After the next job that uses it,
``write_checkpoints`` saves each marked RDD of that job's lineage (one more
job per RDD; cache it first to avoid computing it twice, as in Spark) as
pickle part files, then turns the RDD into a ``CheckpointedRDD``: same id,
partitions and partitioner, but read from the files, with no parents.
``localCheckpoint()`` does the same into the application's own directory,
removed by ``stop()``.
"""
import os

from fastrdd.io import binary as binaryio
from fastrdd.worker import pipeline
from fastrdd.io import text as textio
from fastrdd.rdd.rdd import RDD

__all__ = ["CheckpointedRDD", "write_checkpoints"]


class CheckpointedRDD(RDD):
    """An RDD whose partitions are read back from its checkpoint files."""

    def getNumPartitions(self):
        return len(self._checkpoint_files)

    def _narrow_parents(self):
        return []

    def _parent_splits(self, split):
        return []

    def _task_payloads(self, split, out=None):
        return {} if out is None else out

    def _make_node(self, node_of):
        return pipeline.SplitNode(self._id, self._level(), self._checkpoint_files,
                                  binaryio.read_pickle_file)


def _lineage(rdd):
    seen, order, stack = set(), [], [rdd]
    while stack:
        r = stack.pop()
        if r._id in seen:
            continue
        seen.add(r._id)
        order.append(r)
        stack.extend(r._narrow_parents())
        if r._shuffle_dep is not None:
            stack.append(r._parent)
    return order


def write_checkpoints(ctx, rdd):
    for marked in _lineage(rdd):
        if marked._id not in ctx._pending_checkpoints:
            continue
        base = ctx._app_dir if marked._checkpoint_local else ctx.getCheckpointDir()
        path = os.path.join(base, f"rdd-{marked._id}")
        n = marked.getNumPartitions()
        marked._save(path, lambda temp, split, iterator: textio.write_part_chunks(
            temp, split, binaryio.pickle_chunks(iterator, 1024)))
        marked._checkpoint_files = [os.path.join(path, "part-%05d" % i) for i in range(n)]
        marked._checkpoint_path = path
        marked.__class__ = CheckpointedRDD
        marked.is_checkpointed = True
        marked._checkpoint_written = True
        ctx._pending_checkpoints.discard(marked._id)
