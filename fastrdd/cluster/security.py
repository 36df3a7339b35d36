"""Who may talk to a cluster port: nothing is unpickled from a peer that has not authenticated.

A port that unpickles what it receives is remote code execution for
whoever reaches it.  Every cluster socket (the driver's, each worker's
block server) therefore runs in one of two modes, chosen by the bind
address:

``token``  loopback only (127.0.0.0/8, ::1, localhost), the default.  The
           driver makes a random 32-byte token and writes it, readable by
           its user only, to ``~/.fastrdd/tokens/<port>.token``; a worker of
           the same user on the same machine reads it.  Every frame carries
           HMAC-SHA256(token, payload) and a frame whose HMAC does not check
           is dropped, and counted, before anything looks at its payload.
``curve``  any other address: required.  ZeroMQ CURVE encrypts and
           authenticates every connection; the server's ZAP handler
           (pyzmq's ``zmq.auth``) accepts only client public keys found in
           the keys directory (``*.key`` files), so an unknown peer never
           completes its handshake and none of its frames arrive.  Keys are
           made by ``fastrdd-worker keygen DIR --name NAME``; a secret key
           file readable by group or others is refused.

Binding a non-loopback address without keys is an error that says so.
"""
import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
import stat
import sys

__all__ = ["SecurityError", "Security", "is_loopback", "keygen", "token_path",
           "load_keypair", "check_private"]

#: bytes of an HMAC-SHA256 tag
TAG_SIZE = 32


class SecurityError(Exception):
    """A key, token or address that cannot be used safely; the message says how to fix it."""


def is_loopback(host):
    """True for addresses of this machine only (127.0.0.0/8, ::1, localhost)."""
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (socket.gaierror, ValueError):
            return False


def check_private(path):
    """Refuse a secret file that others than its owner may read or write."""
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecurityError(f"{path} is readable or writable by others (mode {stat.S_IMODE(mode):o}): "
                            f"run chmod 600 {path}")


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def keygen(directory, name):
    """Write ``NAME.key`` (public) and ``NAME.key_secret`` (mode 600) into ``directory``."""
    import zmq

    if not name or "/" in name or name.startswith("."):
        raise SecurityError(f"key name {name!r} must be a plain file name")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    public, secret = zmq.curve_keypair()
    header = b"#   fastrdd CURVE key (ZeroMQ certificate format)\n"
    public_path = os.path.join(directory, f"{name}.key")
    secret_path = os.path.join(directory, f"{name}.key_secret")
    with open(public_path, "wb") as f:
        f.write(header + b'metadata\ncurve\n    public-key = "' + public + b'"\n')
    _write_private(secret_path, header + b'metadata\ncurve\n    public-key = "' + public
                   + b'"\n    secret-key = "' + secret + b'"\n')
    return public_path, secret_path


def load_keypair(directory, name):
    """(public, secret) z85 keys of ``NAME`` in ``directory``, checking the secret's mode."""
    import zmq.auth

    path = os.path.join(directory, f"{name}.key_secret")
    if not os.path.exists(path):
        raise SecurityError(f"no secret key {path}: make one with "
                            f"`fastrdd-worker keygen {directory} --name {name}`")
    check_private(path)
    public, secret = zmq.auth.load_certificate(path)
    if secret is None:
        raise SecurityError(f"{path} holds no secret key")
    return public, secret


def token_path(port):
    """Where the driver listening on ``port`` keeps its loopback token."""
    home = os.environ.get("FASTRDD_HOME") or os.path.join(os.path.expanduser("~"), ".fastrdd")
    return os.path.join(home, "tokens", f"{port}.token")


class Security:
    """One node's credentials, and what it does to the sockets it makes.

    ``mode`` is "token" or "curve".  In token mode ``sign``/``verify`` tag
    and check every frame; in curve mode they pass frames through, since
    ZeroMQ has authenticated the peer already.
    """

    def __init__(self, mode, token=None, keys_dir=None, name=None):
        self.mode = mode
        self._token = token
        self.keys_dir = keys_dir
        self.public = self.secret = None
        if mode == "curve":
            self.public, self.secret = load_keypair(keys_dir, name)
        #: frames dropped because they failed authentication (for logs and tests)
        self.dropped = 0
        self._auth = None

    # -- construction ----------------------------------------------------------
    @classmethod
    def for_driver(cls, host, port, keys_dir=None):
        """The driver's credentials: CURVE with ``keys_dir``, else a new loopback token."""
        if keys_dir:
            return cls("curve", keys_dir=keys_dir, name="driver")
        if not is_loopback(host):
            raise SecurityError(
                f"refusing to listen on {host}:{port} without keys: a cluster port runs code "
                f"sent to it. Make keys (`fastrdd-worker keygen DIR --name driver`, and one per "
                f"worker) and set fastrdd.cluster.keys=DIR, or bind to 127.0.0.1")
        token = secrets.token_bytes(32)
        path = token_path(port)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        _write_private(path, token)
        return cls("token", token=token)

    @classmethod
    def for_worker(cls, driver_host, driver_port, keys_dir=None, name="worker", token_file=None):
        if keys_dir:
            return cls("curve", keys_dir=keys_dir, name=name)
        if not is_loopback(driver_host):
            raise SecurityError(
                f"the driver {driver_host}:{driver_port} is not on this machine: connect with "
                f"--keys DIR (made by `fastrdd-worker keygen DIR --name NAME`)")
        path = token_file or token_path(driver_port)
        try:
            check_private(path)
            with open(path, "rb") as f:
                token = f.read()
        except FileNotFoundError:
            raise SecurityError(f"no token {path}: is a driver listening on port {driver_port} "
                                f"of this machine, started by this user?") from None
        return cls("token", token=token)

    # -- frames ----------------------------------------------------------------
    def _tag(self, parts):
        mac = hmac.new(self._token, digestmod=hashlib.sha256)
        for part in parts:  # each part's length first: no two splits of one byte string agree
            mac.update(len(part).to_bytes(8, "little"))
            mac.update(part)
        return mac.digest()

    def sign(self, *parts):
        """The frames to send for a message of ``parts`` (bytes)."""
        if self.mode == "token":
            return [self._tag(parts), *parts]
        return list(parts)

    def verify(self, frames, count):
        """The ``count`` parts of authenticated ``frames``, or None (dropped and counted).

        Frames received without copying (``zmq.Frame``) are read through
        their buffers: a 4 MB shuffle region is hashed in place, not copied
        first.  The parts returned are bytes-like (bytes or memoryview).
        """
        parts = [getattr(f, "buffer", f) for f in frames]
        if self.mode == "token":
            if len(parts) == count + 1 and len(parts[0]) == TAG_SIZE:
                if hmac.compare_digest(bytes(parts[0]), self._tag(parts[1:])):
                    return parts[1:]
        elif len(parts) == count:
            return parts
        self.reject("unauthenticated")
        return None

    def reject(self, why):
        """Count a message dropped unread (logged at 1, 10, 100... drops, never flooding)."""
        self.dropped += 1
        if self.dropped in (1, 10, 100, 1000, 10000, 100000):
            print(f"fastrdd: dropped {self.dropped} message(s) unread (latest: {why})",
                  file=sys.stderr)

    # -- sockets ---------------------------------------------------------------
    def server(self, sock, context):
        """Make ``sock`` (about to bind) accept only authenticated peers."""
        if self.mode != "curve":
            return
        if self._auth is None:
            from zmq.auth.thread import ThreadAuthenticator

            self._auth = ThreadAuthenticator(context)
            self._auth.start()
            self._auth.configure_curve(domain="*", location=self.keys_dir)
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def client(self, sock, server_public):
        """Make ``sock`` (about to connect) prove who it is to a server with ``server_public``."""
        if self.mode != "curve":
            return
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_serverkey = server_public

    def close(self):
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
