"""Checkpoints: an RDD's partitions written to files, its lineage cut there.

``rdd.checkpoint()`` only marks the RDD.  After the next job that uses it,
``write_checkpoints`` saves each marked RDD of that job's lineage (one more
job per RDD; cache it first to avoid computing it twice, as in Spark) as
pickle part files, then gives the RDD a ``lineage.Checkpointed`` plan: same
object, id, partitions and partitioner, but read from the files, with no
parents.  ``localCheckpoint()`` does the same into the driver's checkpoint area
(through each worker's block fetcher, so it works between hosts), removed
by ``stop()``.
"""
import os

from fastrdd.io import binary as binaryio
from fastrdd.io import text as textio
from fastrdd.rdd import lineage

__all__ = ["write_checkpoints"]


def write_checkpoints(ctx, rdd):
    for marked in lineage.walk(rdd):
        if marked._id not in ctx._pending_checkpoints:
            continue
        n = marked.getNumPartitions()
        if marked._checkpoint_local:
            names = ["rdd-%d-part-%05d" % (marked._id, i) for i in range(n)]
            marked._run(lambda split, iterator, names=names: binaryio.write_local_checkpoint(
                names[split], iterator))
            marked._plan = lineage.Checkpointed(names, binaryio.read_local_checkpoint)
            path = None
        else:
            path = os.path.join(ctx._checkpoint_dir, f"rdd-{marked._id}")
            marked._save(path, lambda temp, split, iterator: textio.write_part_chunks(
                temp, split, binaryio.pickle_chunks(iterator, 1024)))
            files = [os.path.join(path, "part-%05d" % i) for i in range(n)]
            marked._plan = lineage.Checkpointed(files, binaryio.read_pickle_file)
        marked._checkpoint_path = path
        marked.is_checkpointed = True
        marked._checkpoint_written = True
        ctx._pending_checkpoints.discard(marked._id)
