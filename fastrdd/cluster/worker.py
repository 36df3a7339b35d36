"""``fastrdd-worker``: a worker daemon that joins a driver over ZeroMQ.

::

    fastrdd-worker --driver HOST:PORT --cores N      (supervisor: N slot processes)
        slot process: main thread   runs tasks: worker.runtime.Worker.handle(message)
                      I/O thread    DEALER to the driver: HELLO, then messages in and
                                    out, heartbeats both ways; a silent driver means
                                    its state is dropped (the slot exits; restarted)
                      BlockServer   its map outputs, to the other workers
    fastrdd-worker keygen DIR --name NAME             CURVE keys for non-loopback hosts

Each slot is one executor (one task at a time, one Python interpreter, so
tasks run in parallel on N cores).  The supervisor restarts a slot that
exits, as a cluster manager restarts a container; with ``--once`` the
worker instead ends when its first driver goes away (for workers started
for one job, e.g. under ``srun``).  Nothing from the driver is unpickled
before the driver's WELCOME, and every frame is authenticated first
(``security``).
"""
import argparse
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

#: seconds between a slot's heartbeats to the driver
HEARTBEAT_INTERVAL = 1.0
#: exit status of a slot whose driver went away without stopping it
EXIT_DRIVER_GONE = 75
#: exit status of a slot the driver refused (wrong versions): not restarted
EXIT_REFUSED = 2


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="fastrdd-worker",
        description="Run fastrdd tasks for a driver (SparkContext('fastrdd://HOST:PORT')).")
    sub = parser.add_subparsers(dest="command")
    keygen = sub.add_parser("keygen", help="make a CURVE key pair (NAME.key, NAME.key_secret)")
    keygen.add_argument("directory")
    keygen.add_argument("--name", default=socket.gethostname(),
                        help="key name: 'driver' for the driver, anything for a worker")
    parser.add_argument("--driver", default=os.environ.get("FASTRDD_DRIVER", "127.0.0.1:7077"),
                        help="the driver's HOST:PORT (default $FASTRDD_DRIVER or 127.0.0.1:7077)")
    parser.add_argument("--cores", type=int, default=1,
                        help="task slots: one process each (default 1)")
    parser.add_argument("--memory", default=None,
                        help="memory budget per slot (512m, 2g); default 60%% of RAM / cores")
    parser.add_argument("--local-dir", default=None,
                        help="directory for shuffle outputs and spills (default: the temp dir)")
    parser.add_argument("--bind", default=None,
                        help="address to serve blocks on (default: loopback if the driver is "
                             "on this machine, else this host's name)")
    parser.add_argument("--keys", default=os.environ.get("FASTRDD_KEYS"),
                        help="CURVE keys directory (needed unless the driver is on loopback)")
    parser.add_argument("--key-name", default=socket.gethostname(),
                        help="this worker's key name in --keys (default: the host name)")
    parser.add_argument("--token-file", default=None,
                        help="loopback token file (default ~/.fastrdd/tokens/PORT.token)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds without hearing the driver before its state is dropped")
    parser.add_argument("--connect-timeout", type=float, default=60.0,
                        help="seconds to wait for the driver's WELCOME")
    parser.add_argument("--once", action="store_true",
                        help="exit when the driver goes away instead of waiting for the next")
    parser.add_argument("--slot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command is None:
        host, _, port = args.driver.rpartition(":")
        if not host or not port.isdigit():
            parser.error(f"--driver {args.driver!r}: expected HOST:PORT")
        args.driver_host, args.driver_port = host.strip("[]"), int(port)
        if args.cores < 1:
            parser.error(f"--cores {args.cores}: need at least 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "keygen":
        from fastrdd.cluster.security import keygen

        public, secret = keygen(args.directory, args.name)
        print(f"wrote {public} (share it: copy it into the keys directory of every node)\n"
              f"wrote {secret} (mode 600: keep it on this host only)")
        return 0
    if args.slot or (args.cores == 1 and args.once):
        if "PYTHONHASHSEED" not in os.environ and argv is None:
            # one hash() of str on every worker, as in local workers: start again with
            # the seed fixed (it can only be set before the interpreter starts)
            os.execve(sys.executable, [sys.executable, "-m", "fastrdd.cluster.worker",
                                       *sys.argv[1:]], dict(os.environ, PYTHONHASHSEED="0"))
        return run_slot(args)
    return supervise(args, sys.argv[1:] if argv is None else argv)


def supervise(args, argv):
    """Keep ``--cores`` slot processes running; restart those that end, until stopped."""
    cmd = [sys.executable, "-m", "fastrdd.cluster.worker", *argv, "--slot"]
    # one hash() of str in every slot on every host, as local workers have: a user
    # class hashing its fields then lands in one partition whichever slot maps it
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    slots = {}
    #: when each slot was last started: one that ends at once is restarted at most once a second
    started = {}
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            for index in range(args.cores):
                proc = slots.get(index)
                if proc is not None and proc.poll() is None:
                    continue
                if proc is not None:
                    if time.monotonic() - started.get(index, 0) < 1.0:
                        continue
                    if proc.returncode == EXIT_REFUSED:
                        print(f"fastrdd-worker: slot {index} was refused by the driver; "
                              f"not restarting it", file=sys.stderr)
                        stopping.append("refused")
                        break
                    if args.once:  # its driver stopped it or went away
                        stopping.append("once")
                        break
                slots[index] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env)
                started[index] = time.monotonic()
            time.sleep(0.2)
    finally:
        for proc in slots.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in slots.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    return EXIT_REFUSED if "refused" in stopping else 0


def run_slot(args):
    """One executor: handshake, then run what the driver sends until it goes away."""
    import zmq

    from fastrdd import protocol
    from fastrdd.cluster import handshake
    from fastrdd.cluster.blocks import BlockServer, ClusterBlockFetcher
    from fastrdd.cluster.security import Security, SecurityError, is_loopback
    from fastrdd.storage.memory import apply_address_space_limit, default_budget, parse_size
    from fastrdd.worker.runtime import Worker, die_with_parent
    from fastrdd.worker.gc_tuning import tune_for_worker

    # the supervisor decides: a stray Ctrl-C in the terminal is not for the slots
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.slot:
        die_with_parent()

    deadline = time.monotonic() + args.connect_timeout
    while True:
        try:
            security = Security.for_worker(args.driver_host, args.driver_port, args.keys,
                                           args.key_name, args.token_file)
            break
        except SecurityError as e:
            if "no token" not in str(e):  # a key or mode problem: waiting will not fix it
                print(f"fastrdd-worker: {e}", file=sys.stderr)
                return EXIT_REFUSED
            if time.monotonic() > deadline:  # no driver yet: the supervisor tries again
                print(f"fastrdd-worker: {e}", file=sys.stderr)
                return EXIT_DRIVER_GONE
            time.sleep(0.2)
    bind = args.bind or ("127.0.0.1" if is_loopback(args.driver_host) else socket.gethostname())
    base = args.local_dir or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    directory = tempfile.mkdtemp(prefix=f"fastrdd-worker-{os.getpid()}-", dir=base)
    context = zmq.Context()
    server = BlockServer(context, security, bind, directory=directory)
    server.start()
    driver = context.socket(zmq.DEALER)
    driver.linger = 0
    driver_key = _public_key(args.keys, "driver") if security.mode == "curve" else None
    security.client(driver, driver_key)
    driver.connect(f"tcp://{args.driver_host}:{args.driver_port}")
    budget = parse_size(args.memory) if args.memory else default_budget(args.cores)
    driver.send_multipart(security.sign(handshake.hello(
        socket.gethostname(), os.getpid(), 1, budget, server.address)))
    try:
        welcome = _await_welcome(driver, security, args.connect_timeout)
    except RuntimeError as e:
        print(f"fastrdd-worker: {e}", file=sys.stderr)
        _cleanup(server, context, directory)
        return EXIT_REFUSED if "refused" in str(e) else EXIT_DRIVER_GONE
    settings = welcome.get("settings") or {}
    apply_address_space_limit(settings.get("address_space"))  # spark.executor.pyspark.memory
    fetcher = ClusterBlockFetcher(context, security, directory, server.address,
                                  welcome["driver_block_address"],
                                  timeout=float(settings.get("fetch_timeout", 30.0)))
    sys.path.insert(1, fetcher.files_dir())
    inbox = queue.SimpleQueue()
    outbox = queue.SimpleQueue()
    wake_r, wake_w = os.pipe()

    def send(message):
        outbox.put(protocol.dumps(message))
        os.write(wake_w, b"x")

    worker = Worker(send, directory, welcome["executor_id"], fetcher, budget=budget,
                    spill_dirs=[os.path.join(directory, "spill")],
                    compress_spills=bool(settings.get("compress_spills", True)),
                    compress_blocks=bool(settings.get("compress_blocks", False)),
                    address=server.address)
    tune_for_worker()
    io = threading.Thread(target=_io_loop, name="fastrdd-driver-link", daemon=True,
                          args=(driver, security, inbox, outbox, wake_r, args.timeout, directory))
    io.start()
    status = 0
    while worker.running:
        message = inbox.get()
        if message is None:  # the driver went away: drop its state
            status = EXIT_DRIVER_GONE
            break
        worker.handle(message)
    time.sleep(0.05)  # let the I/O thread send the last replies
    fetcher.close()
    _cleanup(server, context, directory)
    return status


def _public_key(directory, name):
    import zmq.auth

    public, _ = zmq.auth.load_certificate(os.path.join(directory, f"{name}.key"))
    return public


def _await_welcome(driver, security, timeout):
    """The driver's WELCOME (a dict); RuntimeError naming why there is none."""
    from fastrdd.cluster import handshake

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not driver.poll(200):
            continue
        parts = security.verify(driver.recv_multipart(), 1)
        if parts is None:
            continue
        message = handshake.decode(parts[0])
        if message is None:
            continue
        if message["kind"] == "refused":
            raise RuntimeError(f"refused by the driver: {message.get('reason')}")
        if message["kind"] == "welcome":
            return message
    raise RuntimeError(f"no answer from the driver within {timeout:g} s")


def _io_loop(driver, security, inbox, outbox, wake_r, timeout, directory):
    """Messages in (to ``inbox``) and out (from ``outbox``), heartbeats, driver liveness."""
    import zmq

    from fastrdd import protocol

    poller = zmq.Poller()
    poller.register(driver, zmq.POLLIN)
    poller.register(wake_r, zmq.POLLIN)
    heard = last_beat = time.monotonic()
    beat = protocol.dumps(protocol.Heartbeat())
    while True:
        ready = dict(poller.poll(100))
        now = time.monotonic()
        if driver in ready:
            while True:
                try:
                    frames = driver.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                parts = security.verify(frames, 1)
                if parts is None:
                    continue
                heard = now
                message = protocol.loads(parts[0])  # the authenticated driver that welcomed us
                if type(message) is protocol.Heartbeat:
                    continue
                if type(message) is protocol.Stop:
                    # asked to go: a running task is abandoned with the process
                    _flush(driver, security, outbox)
                    shutil.rmtree(directory, ignore_errors=True)
                    os._exit(0)
                inbox.put(message)
        if wake_r in ready:
            os.read(wake_r, 65536)
        _flush(driver, security, outbox)
        if now - last_beat >= HEARTBEAT_INTERVAL:
            last_beat = now
            driver.send_multipart(security.sign(beat))
        if now - heard > timeout:
            print(f"fastrdd-worker: nothing from the driver for {timeout:g} s; dropping its state",
                  file=sys.stderr)
            inbox.put(None)
            return


def _flush(driver, security, outbox):
    while True:
        try:
            payload = outbox.get_nowait()
        except queue.Empty:
            return
        driver.send_multipart(security.sign(payload), copy=False)


def _cleanup(server, context, directory):
    server.stop()
    server.join(2)
    context.destroy(linger=0)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
