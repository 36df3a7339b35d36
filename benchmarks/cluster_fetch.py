"""Shuffle fetch throughput worker-to-worker, beside a raw pyzmq send of the same bytes.

    python -m benchmarks.cluster_fetch --mb 256 --maps 64     # MB/s of both, and the ratio

A child process plays the worker that wrote the map outputs: ``--maps``
files whose reduce region 0 holds ``--mb / --maps`` MB each, served by a
real ``BlockServer`` (loopback token mode, every frame HMAC-checked).  This
process reads them as a reduce task does (``ClusterBlockFetcher.
shuffle_regions``: pipelined requests, bounded bytes in flight).  The raw
baseline sends the same chunks from a bare ZeroMQ ROUTER to a DEALER over
the same loopback, asked for in the same pipelined way, with no framing,
authentication or file reads: the transport's ceiling on this machine.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import zmq

CHILD = r"""
import os, sys, time, zmq
from fastrdd.cluster.blocks import BlockServer
from fastrdd.cluster.security import Security
mode, directory, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
if mode == "blocks":
    server = BlockServer(ctx, Security("token", token=b"k" * 32), "127.0.0.1", directory=directory)
    server.start()
    print(server.address, flush=True)
    sys.stdin.read()
    server.stop()
else:
    sock = ctx.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    chunks = []
    for m in range(len(os.listdir(directory))):
        with open(os.path.join(directory, f"shuffle_0_{m}.data"), "rb") as f:
            chunks.append(f.read()[:-16])
    print(f"tcp://127.0.0.1:{port}", flush=True)
    while True:
        ident, index = sock.recv_multipart()
        i = int(index)
        if i < 0:
            break
        sock.send_multipart([ident, chunks[i]], copy=False)
"""


def write_outputs(directory, maps, region_bytes):
    """``maps`` map output files of one shuffle, all bytes in reduce region 0."""
    import struct

    payload = os.urandom(1 << 20) * (region_bytes >> 20) + os.urandom(region_bytes % (1 << 20))
    for m in range(maps):
        with open(os.path.join(directory, f"shuffle_0_{m}.data"), "wb") as f:
            f.write(payload)
            f.write(struct.pack("<qq", 0, len(payload)))


def fetch_blocks(directory, maps):
    from fastrdd.cluster.blocks import ClusterBlockFetcher
    from fastrdd.cluster.security import Security

    child = subprocess.Popen([sys.executable, "-c", CHILD, "blocks", directory, "0"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    address = child.stdout.readline().strip()
    ctx = zmq.Context()
    with tempfile.TemporaryDirectory() as own:
        fetcher = ClusterBlockFetcher(ctx, Security("token", token=b"k" * 32), own, "me",
                                      "tcp://127.0.0.1:1", timeout=60)
        requests = [(address, 0, m, 0, 1) for m in range(maps)]
        start = time.perf_counter()
        total = sum(len(r) for r in fetcher.shuffle_regions(requests))
        elapsed = time.perf_counter() - start
        fetcher.close()
    child.stdin.close()
    child.wait()
    child.stdout.close()
    ctx.destroy(0)
    return total, elapsed


def fetch_raw(directory, maps, in_flight=16):
    child = subprocess.Popen([sys.executable, "-c", CHILD, "raw", directory, "0"],
                             stdout=subprocess.PIPE, text=True)
    endpoint = child.stdout.readline().strip()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(endpoint)
    start = time.perf_counter()
    total = asked = 0
    for _ in range(min(in_flight, maps)):
        sock.send(str(asked).encode())
        asked += 1
    for _ in range(maps):
        total += len(sock.recv(copy=False))
        if asked < maps:
            sock.send(str(asked).encode())
            asked += 1
    elapsed = time.perf_counter() - start
    sock.send(b"-1")
    child.wait()
    child.stdout.close()
    ctx.destroy(0)
    return total, elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=256, help="bytes fetched in all (MB)")
    parser.add_argument("--maps", type=int, default=64, help="map outputs to fetch")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        write_outputs(directory, args.maps, (args.mb << 20) // args.maps)
        rows = []
        for _ in range(args.runs):  # in turns: drift hits both alike
            rows.append((fetch_blocks(directory, args.maps), fetch_raw(directory, args.maps)))
    best_blocks = max(total / t for (total, t), _ in rows) / 1e6
    best_raw = max(total / t for _, (total, t) in rows) / 1e6
    print(f"worker-to-worker fetch: {best_blocks:8.0f} MB/s  ({args.maps} map outputs, "
          f"{args.mb} MB, best of {args.runs})")
    print(f"raw pyzmq DEALER/ROUTER: {best_raw:7.0f} MB/s")
    print(f"fetch / raw: {best_blocks / best_raw:.2f}")
    return best_blocks, best_raw


if __name__ == "__main__":
    main()
