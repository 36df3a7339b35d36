"""fastrdd: Spark's RDD engine for Python, with no JVM.

Change ``from pyspark import SparkContext`` to ``from fastrdd import
SparkContext`` and PySpark RDD programs run on all cores of this machine.
"""
__version__ = "0.1.0"

from .conf import SparkConf
from .context import SparkContext
from .partitioner import Partitioner, portable_hash
from .rdd import RDD
from .resultiterable import ResultIterable
from .storagelevel import StorageLevel
from .taskcontext import TaskContext

__all__ = ["SparkConf", "SparkContext", "RDD", "Partitioner", "portable_hash", "ResultIterable",
           "StorageLevel", "TaskContext", "__version__"]
