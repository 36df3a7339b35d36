"""Cluster mode: ``fastrdd-worker`` processes on any hosts, linked to the driver by ZeroMQ.

``backend.py`` (the driver's end, a ``SchedulerBackend``), ``worker.py``
(the worker daemon and its CLI), ``blocks.py`` (block servers and the
fetcher that reads shuffle outputs worker-to-worker), ``security.py``
(loopback tokens, CURVE keys), ``handshake.py`` (versions compared before
any pickle flows).
"""
