"""fastrdd: Spark's RDD engine for Python, with no JVM.

Change ``from pyspark import SparkContext`` to ``from fastrdd import
SparkContext`` and PySpark RDD programs run on all cores of this machine.

The public names are imported on first use (PEP 562), so that a worker
process, which imports ``fastrdd.worker``, starts without loading the
driver-side API.
"""
import importlib
import os

__version__ = "0.1.0"

#: this package's directory: frames and paths under it are fastrdd's, not the user's
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_PUBLIC = {
    "SparkConf": "conf",
    "SparkContext": "context",
    "RDD": "rdd.rdd",
    "Partitioner": "partitioner",
    "portable_hash": "partitioner",
    "ResultIterable": "resultiterable",
    "StorageLevel": "storagelevel",
    "TaskContext": "taskcontext",
    "Broadcast": "broadcast",
    "Accumulator": "accumulators",
    "AccumulatorParam": "accumulators",
    "AddingAccumulatorParam": "accumulators",
    "BarrierTaskContext": "taskcontext",
    "BarrierTaskInfo": "worker.barrier",
    "RDDBarrier": "rdd.barrier",
    "SparkFiles": "files",
    "StatusTracker": "scheduler.status",
    "SparkJobInfo": "scheduler.status",
    "SparkStageInfo": "scheduler.status",
    "InheritableThread": "threads",
    "inheritable_thread_target": "threads",
    "Profiler": "profiler",
    "BasicProfiler": "profiler",
    "CPickleSerializer": "serializers",
    "CloudPickleSerializer": "serializers",
    "MarshalSerializer": "serializers",
    "PickleSerializer": "serializers",
    "StatCounter": "statcounter",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'fastrdd' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
