"""Master URLs: which backend a SparkContext's tasks run on.

This is the one module that names a transport; the scheduler only knows
the contract (``scheduler.backend.SchedulerBackend``).

===================  =========================================================
``local``            one worker process
``local[N]``         N worker processes (``local[*]``: one per core)
``local[N,F]``       N worker processes, F attempts per task
``inprocess[N]``     N executors inside the driver process, tasks run on the
                     driver's thread one at a time: for debugging with pdb
``fastrdd://H:P``    listen on H:P for ``fastrdd-worker`` processes (cluster
                     mode); loopback needs no keys, any other address does
===================  =========================================================
"""
import os
import re
from typing import NamedTuple

__all__ = ["Master", "parse_master", "create_backend", "worker_settings", "pure_python"]

_MASTER = re.compile(r"^(local|inprocess)(?:\[\s*(\*|\d+)\s*(?:,\s*(\d+)\s*)?\])?$")
_CLUSTER = re.compile(r"^fastrdd://(\[[0-9a-fA-F:]+\]|[^:/\[\]]+):(\d+)/?$")


class Master(NamedTuple):
    """A parsed master URL."""

    #: "local", "inprocess" or "cluster"
    kind: str
    #: executors to start (cluster: the number of workers to wait for, from the conf)
    workers: int
    #: attempts per task before the job fails
    max_failures: int
    #: (host, port) the driver listens on (cluster only)
    address: tuple = None


def parse_master(master):
    """The ``Master`` a master URL names; ValueError naming the URL if none."""
    m = _CLUSTER.match(master.strip())
    if m:
        return Master("cluster", 1, 4, (m.group(1).strip("[]"), int(m.group(2))))
    m = _MASTER.match(master.strip())
    if not m:
        raise ValueError(
            f"Could not parse master URL {master!r}: expected 'local', 'local[N]', 'local[*]', "
            f"'local[N,F]' (N worker processes, F attempts per task), 'inprocess[N]' "
            f"(tasks in the driver's thread, for debugging) or 'fastrdd://HOST:PORT' (workers "
            f"started with fastrdd-worker)")
    kind, cores, failures = m.groups()
    if cores is None:
        workers = 1
    elif cores == "*":
        workers = os.cpu_count() or 1
    else:
        workers = int(cores)
    if workers < 1:
        raise ValueError(f"Asked for {workers} workers in master URL {master!r}: need at least 1")
    return Master(kind, workers, int(failures) if failures else 1)


def pure_python(conf):
    """``fastrdd.purepython``: the driver and its workers use the pure-Python twins."""
    return conf.get("fastrdd.purepython", "").lower() in ("1", "true", "yes")


def worker_settings(conf, workers):
    """A worker's memory budget (bytes), hysteresis, storage fraction and compression."""
    from fastrdd.storage.memory import default_budget, parse_size

    size = (conf.get("fastrdd.worker.memory") or os.environ.get("FASTRDD_WORKER_MEMORY")
            or conf.get("spark.executor.memory"))
    return {"budget": parse_size(size) if size else default_budget(workers),
            "hysteresis": float(conf.get("fastrdd.memory.hysteresis", "1.1")),
            "storage_fraction": float(conf.get("fastrdd.storage.fraction", "0.5")),
            "compress_spills": _flag(conf, "spark.shuffle.spill.compress", "true"),
            "compress_blocks": _flag(conf, "spark.rdd.compress", "false")}


def _flag(conf, key, default):
    """A boolean setting, refusing anything but true/false by name."""
    value = str(conf.get(key, default)).strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"{key} must be true or false, got {conf.get(key)!r}")
    return value == "true"


def create_backend(master, conf, app_dir, env, spill_roots=()):
    """The backend for ``master`` (a ``Master``), not yet started.

    ``env`` is the environment for worker processes (executorEnv, the files
    directory); ``spill_roots`` further local directories to spill into.
    """
    from fastrdd.storage.memory import pyspark_memory

    settings = worker_settings(conf, master.workers)
    # a hard cap on each worker process's address space; not for inprocess (the driver)
    address_space = pyspark_memory(conf.get("spark.executor.pyspark.memory"))
    if master.kind == "inprocess":
        from fastrdd.local.inprocess import InProcessBackend

        return InProcessBackend(master.workers, app_dir, settings)
    if master.kind == "cluster":
        from fastrdd.cluster.backend import ClusterBackend

        host, port = master.address
        return ClusterBackend(
            host, port, app_dir,
            min_workers=int(conf.get("fastrdd.cluster.minWorkers",
                                     os.environ.get("FASTRDD_MIN_WORKERS", "1"))),
            wait_timeout=float(conf.get("fastrdd.cluster.waitTimeout", "60")),
            heartbeat_timeout=float(conf.get("fastrdd.worker.timeout", "10")),
            keys_dir=conf.get("fastrdd.cluster.keys") or os.environ.get("FASTRDD_KEYS"),
            settings={"compress_spills": settings["compress_spills"],
                      "compress_blocks": settings["compress_blocks"],
                      "fetch_timeout": float(conf.get("fastrdd.cluster.fetchTimeout", "30")),
                      "address_space": address_space})
    from fastrdd.local.backend import LocalBackend

    env = dict(env)
    if pure_python(conf):
        env["FASTRDD_PUREPYTHON"] = "1"
    env.update({"FASTRDD_WORKER_MEMORY": str(settings["budget"]),
                "FASTRDD_MEMORY_HYSTERESIS": str(settings["hysteresis"]),
                "FASTRDD_STORAGE_FRACTION": str(settings["storage_fraction"]),
                "FASTRDD_COMPRESS_SPILLS": "true" if settings["compress_spills"] else "false",
                "FASTRDD_COMPRESS_BLOCKS": "true" if settings["compress_blocks"] else "false"})
    if address_space:
        env["FASTRDD_ADDRESS_SPACE"] = str(address_space)
    timeout = float(conf.get("fastrdd.worker.timeout", "60"))
    return LocalBackend(master.workers, app_dir, env, heartbeat_timeout=timeout,
                        spill_roots=spill_roots)
