"""Kernels of the worker: the in-memory block store that keeps cached RDD
partitions and broadcast values, compiled (``blockstore.pyx``) with a
pure-Python twin (``blockstore_py.py``, the specification).

Nothing here imports a twin; ``fastrdd._impl`` chooses between them.
"""
