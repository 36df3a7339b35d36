"""SparkFiles: files shipped with ``sc.addFile``/``addPyFile``/``addArchive``.

Added files are copied into the application's ``files`` directory on the
driver.  A worker finds them in the directory its block fetcher names
(``storage.blocks``: the driver's own directory for workers on this
machine), and that directory is on its import path, so a module added
with ``addPyFile`` is importable in tasks.
"""
import os
import shutil

from fastrdd.storage import blocks

__all__ = ["SparkFiles"]


class SparkFiles:
    """Paths of files added with ``SparkContext.addFile``.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "greeting.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("hello")
    >>> sc.addFile(path)
    >>> def read(_):
    ...     with open(SparkFiles.get("greeting.txt")) as f:
    ...         return f.read()
    >>> sc.parallelize([1, 2], 2).map(read).collect()
    ['hello', 'hello']
    """

    _root_directory = None

    def __init__(self):
        raise NotImplementedError("Do not construct SparkFiles objects")

    @classmethod
    def get(cls, filename):
        """The absolute path of an added file, in the driver or in a task.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "data.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("42")
        >>> sc.addFile(path)
        >>> with open(SparkFiles.get("data.txt")) as f:
        ...     f.read()
        '42'
        >>> def read(_):
        ...     with open(SparkFiles.get("data.txt")) as f:
        ...         return int(f.read())
        >>> sc.parallelize([1], 1).map(read).collect()
        [42]
        """
        return os.path.join(cls.getRootDirectory(), filename)

    @classmethod
    def getRootDirectory(cls):
        """The directory holding added files.

        >>> import os
        >>> sc.listFiles is not None  # with an active SparkContext
        True
        >>> os.path.isdir(SparkFiles.getRootDirectory())
        True
        >>> os.path.dirname(SparkFiles.get("data.txt")) == SparkFiles.getRootDirectory()
        True
        """
        root = cls._root_directory
        if root is None and blocks.fetcher() is not None:
            root = blocks.fetcher().files_dir()
        if root is None:
            raise RuntimeError("No SparkContext is active: SparkFiles has no root directory")
        return root


def add_file(root, path, recursive=False):
    """Copy ``path`` into ``root``; returns the name it is known by."""
    path = os.path.abspath(os.path.expanduser(path[len("file:"):] if path.startswith("file:") else path))
    name = os.path.basename(path.rstrip("/"))
    target = os.path.join(root, name)
    if os.path.isdir(path):
        if not recursive:
            raise ValueError(f"{path} is a directory; pass recursive=True to add a directory")
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(path, target)
    elif os.path.isfile(path):
        shutil.copyfile(path, target)
    else:
        raise FileNotFoundError(f"File {path} does not exist")
    return name


def add_archive(root, path):
    """Unpack an archive (zip, tar, tar.gz...) into ``root/<archive name>``."""
    name = add_file(root, path)
    target = os.path.join(root, name)
    unpacked = target + ".unpacked"
    shutil.unpack_archive(target, unpacked)
    os.replace(target, target + ".archive")
    os.rename(unpacked, target)
    return name
