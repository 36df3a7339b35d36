"""``fastrdd ui EVENTLOG``: a finished (or running) application's web UI, from its event log.

::

    <app>.jsonl[.inprogress] --LogFollower--> AppStore --> WebUI (server.py)

The log is read into a fresh ``AppStore`` through the same listener code a
live application uses, so the replayed UI shows what the live one showed.
A log still being written (``.inprogress``) is followed: new lines are fed
in as they appear, and the pages refresh until the application's
``ApplicationEnd`` arrives.  Spark's history server does this for a
directory of logs; one log per command keeps this small.
"""
import argparse
import json
import os
import sys
import threading
import time

from fastrdd.ui.eventlog import event_from_record
from fastrdd.ui.server import WebUI
from fastrdd.ui.store import AppStore

__all__ = ["LogFollower", "serve", "main", "DEFAULT_PORT"]

#: Spark's history server port
DEFAULT_PORT = 18080


class LogFollower:
    """Feeds an event log's complete lines into ``store``; ``poll()`` reads what is new."""

    def __init__(self, path, store):
        self.path = path
        self.store = store
        self.offset = 0
        self.line = 0
        self._pending = b""

    def _current_path(self):
        if os.path.exists(self.path):
            return self.path
        if self.path.endswith(".inprogress"):
            finished = self.path[:-len(".inprogress")]
            if os.path.exists(finished):  # the application ended meanwhile: same bytes
                return finished
        raise FileNotFoundError(f"event log not found: {self.path}")

    def poll(self):
        """Read the lines written since the last call; the number of events fed."""
        with open(self._current_path(), "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        data = self._pending + data
        lines = data.split(b"\n")
        self._pending = lines.pop()  # an incomplete last line waits for its end
        fed = 0
        for raw in lines:
            self.line += 1
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                raise ValueError(f"{self.path}:{self.line}: not a JSON line") from None
            event = event_from_record(record)
            if event is not None:
                self.store(event)
                fed += 1
        return fed


def serve(path, host="127.0.0.1", port=DEFAULT_PORT, follow_every=1.0):
    """A WebUI over the log at ``path``; a daemon thread follows it until the application ends."""
    store = AppStore()
    follower = LogFollower(path, store)
    follower.poll()
    ui = WebUI(store, host, port, max_retries=16)

    def follow():
        while store.ended is None:
            time.sleep(follow_every)
            try:
                follower.poll()
            except (OSError, ValueError) as e:
                print(f"fastrdd ui: stopped following {path}: {e}", file=sys.stderr)
                return

    if store.ended is None:
        threading.Thread(target=follow, name="fastrdd-ui-follow", daemon=True).start()
    return ui


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fastrdd ui", description="Serve the web UI of an application from its event log "
                                       "(spark.eventLog.enabled=true writes one).")
    parser.add_argument("eventlog", help="an event log file: <app id>.jsonl or .jsonl.inprogress")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"first port to try (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    args = parser.parse_args(argv)
    try:
        ui = serve(args.eventlog, args.host, args.port)
    except (OSError, ValueError) as e:
        print(f"fastrdd ui: {e}", file=sys.stderr)
        return 1
    print(f"fastrdd ui: {args.eventlog} at {ui.url}/ (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        ui.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
