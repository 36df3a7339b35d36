"""The local worker process: ``main()`` reads messages from the driver's pipe.

Started by ``local.backend.LocalBackend`` as ``python -S -m
fastrdd.local.process`` with the pipe file descriptors and its settings
(memory budget, spill directories, compression) in the environment.  The
process is a thin shell around ``worker.runtime.Worker``: it decodes each
message, hands it to the worker, and sends what the worker sends.

A heartbeat thread tells the driver the process is alive while a long task
runs; if the driver goes away, the next send fails and the process exits,
so no worker outlives its driver.
"""
import os
import signal
import sys
import threading
import time
import types

from fastrdd import protocol
from fastrdd.local.framing import PipeReader, PipeWriter
from fastrdd.storage.blocks import LocalBlockFetcher
from fastrdd.worker.gc_tuning import tune_for_worker
from fastrdd.storage.memory import HYSTERESIS, apply_address_space_limit, parse_size
from fastrdd.worker.runtime import Worker, die_with_parent

#: Seconds between heartbeats.  The driver declares a worker lost after
#: ``fastrdd.worker.timeout`` seconds of silence (default 60), so a busy
#: task never looks hung while a stopped or wedged process does.
HEARTBEAT_INTERVAL = 1.0


def parse_args(argv):
    """``--name value`` pairs, as the driver writes them (argparse costs 15 ms to import)."""
    if len(argv) % 2 or not all(a.startswith("--") for a in argv[::2]):
        raise SystemExit("usage: python -m fastrdd.local.process --fd-in N --fd-out N --worker-id N "
                         "--dir DIR [--driver-pid N]  (started by the driver, not by hand)")
    opts = {k[2:].replace("-", "_"): v for k, v in zip(argv[::2], argv[1::2])}
    for key in ("fd_in", "fd_out", "worker_id", "driver_pid"):
        opts[key] = int(opts.get(key, 0))
    if "dir" not in opts:
        raise SystemExit("--dir is required")
    return types.SimpleNamespace(**opts)


def install_quitters():
    """``exit()`` and ``quit()`` for task code, which ``-S`` (no ``site``) leaves undefined.

    A task calling them then fails with its SystemExit, as under PySpark, not
    with a NameError.  ``_sitebuiltins`` is what ``site`` uses, at a 20th of
    its import cost.
    """
    import builtins

    import _sitebuiltins

    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, _sitebuiltins.Quitter(name, "Ctrl-D (i.e. EOF)"))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    install_quitters()
    conn_in = PipeReader(args.fd_in)
    conn_out = PipeWriter(args.fd_out)
    lock = threading.Lock()

    def send(msg):
        data = protocol.dumps(msg)
        with lock:
            conn_out.send_bytes(data)

    def heartbeat():
        # off the start-up path (ctypes costs 7 ms to import): until this runs,
        # a dead driver is still noticed by the closed pipe
        die_with_parent()
        if args.driver_pid and os.getppid() != args.driver_pid:
            os._exit(1)  # the driver died before we could ask to die with it
        while True:
            time.sleep(HEARTBEAT_INTERVAL)
            try:
                send(protocol.Heartbeat())
            except OSError:
                os._exit(3)  # the driver is gone: do not outlive it

    os.makedirs(args.dir, exist_ok=True)
    env = os.environ
    apply_address_space_limit(env.get("FASTRDD_ADDRESS_SPACE"))  # spark.executor.pyspark.memory
    budget = env.get("FASTRDD_WORKER_MEMORY")
    spill_dirs = [d for d in env.get("FASTRDD_SPILL_DIRS", "").split(",") if d]
    fetcher = LocalBlockFetcher(env["FASTRDD_APP_DIR"])
    worker = Worker(send, args.dir, args.worker_id, fetcher,
                    budget=parse_size(budget) if budget else None,
                    hysteresis=float(env.get("FASTRDD_MEMORY_HYSTERESIS", HYSTERESIS)),
                    spill_dirs=spill_dirs or None,
                    storage_fraction=float(env.get("FASTRDD_STORAGE_FRACTION", "0.5")),
                    compress_spills=env.get("FASTRDD_COMPRESS_SPILLS", "true") == "true",
                    compress_blocks=env.get("FASTRDD_COMPRESS_BLOCKS", "false") == "true")
    threading.Thread(target=heartbeat, name="fastrdd-heartbeat", daemon=True).start()
    tune_for_worker()
    send(protocol.Ready(os.getpid()))
    while worker.running:
        try:
            data = conn_in.recv_bytes()
        except (EOFError, OSError):
            break
        worker.handle(protocol.loads(data))
    return 0


if __name__ == "__main__":
    # A stray Ctrl-C in the terminal goes to the whole process group; the
    # driver decides what to cancel, so workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(main())
