"""The RDD API and the lineage it builds (driver side only).

``rdd.py`` is the API users call; ``lineage.py`` the kinds of RDD (how each
partition is made from its parents); ``joins.py``, ``sampling.py``,
``approx.py``, ``histogram.py`` and ``barrier.py`` the operators that need
more than a line.  Nothing here runs in a worker: what a stage needs there
is turned into ``worker.pipeline`` nodes.  As in PySpark's ``pyspark.rdd``,
``RDD`` and ``PipelinedRDD`` can be imported from this package.
"""
from fastrdd.rdd.rdd import RDD, PipelinedRDD, portable_hash

__all__ = ["RDD", "PipelinedRDD", "portable_hash"]
