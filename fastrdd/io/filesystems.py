"""Remote file systems: fsspec URLs for the file sources and sinks.

Plain paths and ``file:`` URIs never come here (``text.py`` keeps its own
local code for them, unchanged); every other URL (``s3://``, ``s3a://``,
``gs://``, ``hdfs://``, ``http(s)://``, ``memory://``...) goes through fsspec,
an optional dependency (``pip install "fastrdd[remote]"``)::

    driver                                               worker (any process, any host)
    ──────                                               ──────
    SparkConf ──options_from_conf──▶ {"s3": {"key": ..., "client_kwargs": {...}}}
    "s3a://b/logs/*.gz" ──expand──▶ [RemotePath("s3a://b/logs/1.gz"), ...]
                                       │ inside the task's splits (pickled)
                                       ▼
                                    open_input(path) → fsspec.filesystem("s3", **options)

A ``RemotePath`` *is* the URL string (it prints, compares and hashes as the
URL) and also carries the options of its protocol and the size the listing
saw: tasks run in other processes, possibly on other hosts, so the
credentials travel with the split rather than live in a driver-side object.
Only the URL's own protocol's options travel, and ``str(path)`` drops them
(the keys ``wholeTextFiles`` returns are plain strings).

Output (object stores have no rename; in the spirit of Hadoop's committers)::

    prepare_output("s3://b/out")  → s3://b/.out._temporary-<uuid>   hidden sibling prefix
    write_file(temp/part-00003)   → one object, visible only once its upload completes
    commit_output(temp, out)      → copy every part to out/, then out/_SUCCESS last, drop temp
    abort_output(temp)            → delete temp

Readers skip names starting with ``_`` or ``.``, so an unfinished job's
temporaries are never read as data, and ``_SUCCESS`` says the output is
whole.  ``memory://`` lives in one process: it is refused unless the tasks
run in the driver's process (``inprocess[N]`` masters).
"""
import errno
import json
import re
import time
import uuid
from contextlib import contextmanager

__all__ = ["RemotePath", "is_remote", "options_from_conf", "check_reachable", "remote_path",
           "errors", "expand", "size", "open_input", "read_bytes", "write_file",
           "prepare_output", "commit_output", "abort_output"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")

#: URL schemes served by another fsspec protocol (Hadoop's names for S3, gcsfs's two)
_ALIASES = {"s3a": "s3", "s3n": "s3", "gs": "gcs"}

#: fsspec protocols whose data lives in one process only
PROCESS_LOCAL = frozenset({"memory"})

#: fsspec protocols without directories (a key prefix is one)
OBJECT_STORES = frozenset({"s3", "gcs", "gs", "az", "abfs", "adl", "oss"})

#: Hadoop S3A settings (after ``spark.hadoop.fs.s3a.``) → s3fs option names
_S3A = {"access.key": "key", "secret.key": "secret", "session.token": "token"}

#: bytes fetched per request when reading a remote file: a split stops reading
#: a line past its end, so fsspec's default (s3fs: 50 MB ahead) would mostly be
#: bytes of the next split, fetched twice
READ_BLOCK_SIZE = 8 * 1024 * 1024

#: protocols read as a stream when a task reads from byte 0
_STREAMED = frozenset({"http", "https"})

#: how long abort_output keeps deleting parts of tasks still running when the job failed
ABORT_SETTLE = 0.3

_INSTALL = 'pip install "fastrdd[remote]"'

#: where the credentials came from, for an access-denied message
_CREDENTIALS = {"s3": " (credentials: spark.hadoop.fs.s3a.access.key/secret.key/session.token, "
                      "fastrdd.fs.s3.*, else the AWS environment and ~/.aws)"}


class RemotePath(str):
    """A URL that carries the fsspec options (and listed size) it is opened with."""

    def __new__(cls, url, options=None, size=None):
        self = super().__new__(cls, url)
        self.options = dict(options or {})
        self.size = size
        return self

    def __reduce__(self):
        return (RemotePath, (str(self), self.options, self.size))

    @property
    def scheme(self):
        return _SCHEME.match(self).group(1).lower()

    @property
    def protocol(self):
        return _ALIASES.get(self.scheme, self.scheme)

    def filesystem(self):
        """The fsspec filesystem (fsspec caches one instance per process and options)."""
        return _filesystem(self.protocol, self.options, self)

    def fspath(self):
        """The path the filesystem knows the object by (no scheme)."""
        rest = self[len(self.scheme) + 3:]
        return self.filesystem()._strip_protocol(f"{self.protocol}://{rest}")

    def child(self, name, size=None):
        return RemotePath(f"{self.rstrip('/')}/{name}", self.options, size)

    def sibling(self, fs_path, size=None):
        """Another object of the same filesystem, by its filesystem path."""
        url = fs_path if "://" in fs_path else f"{self.scheme}://{fs_path}"  # http keeps its
        return RemotePath(url, self.options, size)


def is_remote(path):
    """True for a URL with a scheme other than ``file``."""
    m = _SCHEME.match(path)
    return m is not None and m.group(1).lower() != "file"


def remote_path(url, options):
    """``url`` as a RemotePath carrying its protocol's options from ``options_from_conf``."""
    path = RemotePath(url)
    return RemotePath(url, options.get(path.protocol))


def options_from_conf(pairs):
    """``{protocol: fsspec options}`` from SparkConf ``(key, value)`` pairs.

    ``spark.hadoop.fs.s3a.{access.key,secret.key,session.token,endpoint,endpoint.region,
    path.style.access}`` are the settings a PySpark job on S3 already has;
    ``fastrdd.fs.<protocol>.<option>`` passes any fsspec option (``true``/``false``,
    integers and JSON objects are decoded).  Nothing set: fsspec's own defaults
    (environment variables, ~/.aws and the like).

    >>> options_from_conf([("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:9000"),
    ...                    ("fastrdd.fs.s3a.anon", "false"), ("fastrdd.fs.gcs.project", "p")])
    {'s3': {'client_kwargs': {'endpoint_url': 'http://127.0.0.1:9000'}, 'anon': False}, 'gcs': {'project': 'p'}}
    """
    conf = dict(pairs)
    options = {}
    s3 = {}
    for suffix, name in _S3A.items():
        if f"spark.hadoop.fs.s3a.{suffix}" in conf:
            s3[name] = conf[f"spark.hadoop.fs.s3a.{suffix}"]
    endpoint = conf.get("spark.hadoop.fs.s3a.endpoint")
    region = conf.get("spark.hadoop.fs.s3a.endpoint.region")
    if endpoint or region:
        client = s3.setdefault("client_kwargs", {})
        if endpoint:
            if "://" not in endpoint:  # Hadoop takes a bare host, https unless told otherwise
                ssl = conf.get("spark.hadoop.fs.s3a.connection.ssl.enabled", "true")
                endpoint = ("https://" if ssl.lower() != "false" else "http://") + endpoint
            client["endpoint_url"] = endpoint
        if region:
            client["region_name"] = region
    if conf.get("spark.hadoop.fs.s3a.path.style.access", "").lower() == "true":
        s3["config_kwargs"] = {"s3": {"addressing_style": "path"}}
    if s3:
        options["s3"] = s3
    for key, value in conf.items():
        if key.startswith("fastrdd.fs.") and key.count(".") >= 3:
            protocol, option = key[len("fastrdd.fs."):].split(".", 1)
            protocol = _ALIASES.get(protocol.lower(), protocol.lower())
            options.setdefault(protocol, {})[option] = _decode(value)
    return options


def _decode(value):
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            pass
    return value


def check_reachable(url, in_process):
    """Refuse a per-process filesystem when tasks run in other processes."""
    path = RemotePath(url)
    if path.protocol in PROCESS_LOCAL and not in_process:
        raise ValueError(
            f"{url}: {path.scheme}:// is a filesystem inside one process, and this master runs "
            f"its tasks in other processes, which would not see it; use an 'inprocess[N]' "
            f"master for {path.scheme}://, or a filesystem every worker reaches (s3://, a "
            f"shared directory...)")


# ---------------------------------------------------------------------------
# Filesystems and errors


def _filesystem(protocol, options, url):
    try:
        import fsspec
    except ImportError:
        raise ImportError(f"{url} needs fsspec, an optional dependency of fastrdd for "
                          f"non-local URLs: {_INSTALL}") from None
    try:
        return fsspec.filesystem(protocol, **options)
    except ImportError as e:
        raise ImportError(f"{url} needs the fsspec implementation of {protocol}:// ({e}); "
                          f"{_INSTALL} covers s3:// and s3a://") from e
    except ValueError as e:
        if "Protocol not known" in str(e):
            raise ValueError(f"Unsupported filesystem in path {url!r}: fsspec knows no "
                             f"{protocol}:// protocol") from e
        raise


@contextmanager
def errors(url, action):
    """Turn a storage library's error into one naming ``url`` and what was being done."""
    try:
        yield
    except (ImportError, ValueError, FileExistsError, IsADirectoryError, NotADirectoryError):
        raise
    except OSError as e:
        if str(url) in str(e):
            raise  # ours, or one that already names the URL
        if isinstance(e, PermissionError):
            raise PermissionError(errno.EACCES, f"Access denied {action} {url}: {_reason(e)}"
                                  f"{_CREDENTIALS.get(RemotePath(url).protocol, '')}",
                                  str(url)) from e
        if isinstance(e, FileNotFoundError):
            raise FileNotFoundError(errno.ENOENT, f"Not found {action} {url}: {_reason(e)}",
                                    str(url)) from e
        raise OSError(e.errno, f"Failed {action} {url}: {_reason(e)}", str(url)) from e
    except Exception as e:
        name = type(e).__name__
        if name.endswith(("CredentialsError", "CredentialRetrievalError")):
            raise PermissionError(errno.EACCES, f"No usable credentials {action} {url} ({e}); "
                                  f"set spark.hadoop.fs.s3a.access.key and secret.key, or "
                                  f"the AWS environment variables", str(url)) from e
        if name in ("EndpointConnectionError", "ClientConnectorError", "ConnectTimeoutError"):
            raise ConnectionError(f"Cannot reach the storage service {action} {url}: {e}") from e
        raise


def _reason(e):
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


# ---------------------------------------------------------------------------
# Input


def expand(component, patterns, options):
    """The files one component of an input specification names, as RemotePaths.

    ``patterns`` is None for a plain URL, else the component's brace-expanded
    glob patterns; as for local paths, matches are sorted, hidden names
    (``_``/``.``) dropped, a directory contributes its files, and a
    sub-directory inside a listed directory is an error.
    """
    base = remote_path(component, options)
    fs = base.filesystem()
    with errors(component, "listing"):
        fs.invalidate_cache()  # the workers write behind this process's listing cache
        if patterns is not None:
            found = {}
            for pattern in patterns:
                found.update(fs.glob(RemotePath(pattern, base.options).fspath(), detail=True))
            infos = [found[name] for name in sorted(found) if not _hidden(name)]
            if not infos:
                raise FileNotFoundError(errno.ENOENT, f"Input Pattern {component} matches 0 "
                                        f"files", component)
        else:
            try:
                infos = [fs.info(base.fspath())]
            except FileNotFoundError:
                raise FileNotFoundError(errno.ENOENT, f"Input path does not exist: {component}",
                                        component) from None
        files = []
        for info in infos:
            if info["type"] == "directory":
                files.extend(_list_dir(fs, base, info["name"], component))
            else:
                files.append(base.sibling(info["name"], info.get("size")))
    return files


def _list_dir(fs, base, directory, component):
    files = []
    for info in sorted(fs.ls(directory, detail=True), key=lambda i: i["name"]):
        name = info["name"].rstrip("/")
        if _hidden(name) or name == directory.rstrip("/"):
            continue
        if info["type"] == "directory":
            url = base.sibling(name)
            raise IsADirectoryError(errno.EISDIR, f"Not a file: {url} (input {component} "
                                    f"contains a sub-directory and directories are not read "
                                    f"recursively; use a glob such as {url.rsplit('/', 1)[0]}/* "
                                    f"to read one level down)", str(url))
        files.append(base.sibling(name, info.get("size")))
    return files


def _hidden(name):
    return name.rstrip("/").rsplit("/", 1)[-1].startswith(("_", "."))


def size(path):
    """Bytes in ``path``, from the listing when it saw them."""
    if path.size is None:
        with errors(path, "reading the size of"):
            path.size = path.filesystem().size(path.fspath())
    return path.size


@contextmanager
def open_input(path, codec=None, from_start=False):
    """``path`` opened for reading, through ``codec`` (a module with ``open``) if given.

    Read ``from_start``, an http(s) file is streamed: many servers do not
    answer Range requests, and fsspec reads through them otherwise.
    """
    block_size = 0 if from_start and path.protocol in _STREAMED else READ_BLOCK_SIZE
    with errors(path, "reading"):
        with path.filesystem().open(path.fspath(), "rb", block_size=block_size) as raw:
            if codec is None:
                yield raw
            else:
                with codec.open(raw, "rb") as f:
                    yield f


def read_bytes(path):
    with errors(path, "reading"):
        return path.filesystem().cat_file(path.fspath())


# ---------------------------------------------------------------------------
# Output


def write_file(path, write):
    """Create object ``path`` with ``write(file)``; if ``write`` raises, nothing is kept."""
    fs = path.filesystem()
    with errors(path, "writing"):
        f = fs.open(path.fspath(), "wb")
        try:
            write(f)
        except BaseException:
            _discard(f)
            try:
                fs.rm_file(path.fspath())  # a filesystem without discard made it visible
            except (FileNotFoundError, OSError):
                pass
            raise
        f.close()
    return path


def _discard(f):
    """Close ``f`` without committing it, where the filesystem can (s3fs aborts the upload)."""
    discard = getattr(f, "discard", None)
    if discard is None:
        f.close()
        return
    discard()
    try:
        f.closed = True  # fsspec's buffered files: closing now would upload the rest
    except AttributeError:
        f.close()  # an io object (memory://): closing commits nothing more


def prepare_output(url, options):
    """Refuse an existing output; return the hidden temporary prefix tasks write under."""
    target = remote_path(url.rstrip("/"), options)
    fs = target.filesystem()
    with errors(url, "checking the output"):
        fs.invalidate_cache()
        if fs.exists(target.fspath()):
            raise _exists(url)
    parent, _, name = str(target).rpartition("/")
    temp = RemotePath(f"{parent}/.{name}._temporary-{uuid.uuid4().hex}", target.options)
    if target.protocol not in OBJECT_STORES:  # there makedirs would create a bucket
        with errors(temp, "creating"):
            fs.makedirs(temp.fspath(), exist_ok=True)
    return temp


def commit_output(temp, url):
    """Copy the parts into place, write ``_SUCCESS`` last, delete ``temp``.

    A failure half-way removes what was copied, so the output is whole or absent.
    """
    target = RemotePath(url.rstrip("/"), temp.options)
    fs = temp.filesystem()
    with errors(url, "committing"):
        fs.invalidate_cache()
        if fs.exists(target.fspath()):
            abort_output(temp)
            raise _exists(url)
        try:
            listed = fs.ls(temp.fspath(), detail=True)
        except FileNotFoundError:
            listed = []  # no partitions: an object store has no empty directory
        sources = sorted(info["name"] for info in listed
                         if info["type"] == "file" and not _hidden(info["name"]))
        dests = [target.child(name.rsplit("/", 1)[-1]).fspath() for name in sources]
        try:
            if sources:
                fs.copy(sources, dests)
            fs.pipe_file(target.child("_SUCCESS").fspath(), b"")
        except BaseException:
            _remove(fs, target.fspath())
            raise
        _remove(fs, temp.fspath())


def abort_output(temp):
    """Delete ``temp``, again after a moment for the failed job's tasks still writing."""
    fs = temp.filesystem()
    with errors(temp, "removing"):
        _remove(fs, temp.fspath())
        time.sleep(ABORT_SETTLE)
        fs.invalidate_cache()
        _remove(fs, temp.fspath())


def _remove(fs, fs_path):
    try:
        fs.rm(fs_path, recursive=True)
    except FileNotFoundError:
        pass


def _exists(url):
    return FileExistsError(errno.EEXIST, f"Output directory {url} already exists", str(url))
