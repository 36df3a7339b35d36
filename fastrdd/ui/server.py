"""The web UI's HTTP server: the pages and ``/api/v1`` over an ``AppStore``, on loopback.

::

    SparkContext --start_ui(store, conf)--> WebUI thread  http://127.0.0.1:4040/
                                             GET /jobs/ /stages/ ... (pages.py)
                                             GET /api/v1/...         (api.py)

The standard library's threading HTTP server is enough: the UI serves a
handful of people, read-only.  It binds ``spark.ui.port`` (4040), or the
next free port up to ``spark.port.maxRetries`` further (as Spark does when
several applications run), always on a loopback address unless
``fastrdd.ui.host`` says otherwise.  Requests naming another host in their
``Host`` header are refused, so a web page elsewhere cannot read the UI by
rebinding a DNS name to 127.0.0.1.  Only GET and HEAD exist; nothing here
accepts code or writes anything.
"""
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from fastrdd.ui import api, pages

__all__ = ["WebUI", "start_ui", "DEFAULT_PORT"]

DEFAULT_PORT = 4040
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]", "::1"}


class _Handler(BaseHTTPRequestHandler):
    server_version = "fastrdd-ui"
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        store = self.server.store
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        if not self._host_allowed():
            return self._send(HTTPStatus.FORBIDDEN, "text/plain", b"unexpected Host header\n", head)
        try:
            if url.path in ("/", ""):
                return self._redirect("/jobs/")
            if url.path.startswith("/api/v1/") or url.path == "/api/v1":
                data = api.route(store, url.path[len("/api/v1"):], query)
                body = json.dumps(data, indent=2).encode()
                return self._send(HTTPStatus.OK, "application/json", body, head)
            if url.path == "/favicon.ico":
                return self._send(HTTPStatus.NO_CONTENT, "image/x-icon", b"", head)
            html = pages.render(store, url.path, query)
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", html.encode(), head)
        except LookupError as e:
            message = str(e.args[0] if e.args else e)
            if url.path.startswith("/api/"):
                return self._send(HTTPStatus.NOT_FOUND, "application/json",
                                  json.dumps({"error": message}).encode(), head)
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8",
                              f"Not found: {message}\n".encode(), head)

    def _host_allowed(self):
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.server.allowed_hosts

    def _redirect(self, where):
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status, content_type, body, head=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format, *args):  # quiet: a UI must not write over the user's output
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR: a port left in TIME_WAIT by a stopped UI can be bound again at
    # once; a port another process listens on still fails (Linux), so we try the next
    allow_reuse_address = True


class WebUI:
    """A running UI server; ``url`` is its address, ``stop()`` ends it."""

    def __init__(self, store, host="127.0.0.1", port=DEFAULT_PORT, max_retries=16):
        last = None
        candidates = [0] if port == 0 else range(port, port + max_retries + 1)
        for candidate in candidates:
            try:
                self._server = _Server((host, candidate), _Handler)
                break
            except OSError as e:
                last = e
        else:
            raise OSError(f"the web UI could not bind a port in {port}-{port + max_retries} "
                          f"on {host}: {last}")
        self._server.store = store
        self._server.allowed_hosts = LOOPBACK_NAMES | {host, f"[{host}]"}
        self.host = host
        self.port = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fastrdd-ui", daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def start_ui(store, conf):
    """The UI for ``store`` as the settings ask, or None (off, or no port could be had)."""
    if str(conf.get("spark.ui.enabled", "true")).strip().lower() != "true":
        return None
    host = conf.get("fastrdd.ui.host", "127.0.0.1")
    try:
        port = int(conf.get("spark.ui.port", str(DEFAULT_PORT)))
        retries = int(conf.get("spark.port.maxRetries", "16"))
        return WebUI(store, host, port, retries)
    except (OSError, ValueError) as e:
        print(f"fastrdd: web UI not started: {e}", file=sys.stderr)
        return None
