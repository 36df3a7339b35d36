"""A worker's memory budget, measured on real process memory (RSS).

``fastrdd.worker.memory`` (or ``FASTRDD_WORKER_MEMORY``) sets the budget
with Spark's size syntax (``512m``, ``2g``); by default each worker gets an
equal share of 60% of the machine's memory.

``MemoryMonitor.over()`` is what spilling code asks, every few thousand
records.  It compares the process RSS with a *threshold* that starts at
the budget.  Memory freed by Python is often not returned to the system,
so after each spill the threshold moves up to 10% above what the process
still holds (never below the budget): without this hysteresis a worker
whose RSS stays high would spill on every check, forever.  ``reset()``
between tasks brings the threshold back down.
"""
import os
import re

__all__ = ["parse_size", "default_budget", "rss_bytes", "MemoryMonitor", "pyspark_memory",
           "apply_address_space_limit"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

#: share of the machine's memory the workers use by default, all together
DEFAULT_MACHINE_FRACTION = 0.6
#: after a spill, the threshold becomes max(budget, RSS * this)
HYSTERESIS = 1.1


def parse_size(text):
    """Bytes in a size such as ``512m``, ``2g``, ``1.5GB`` or ``1048576``.

    >>> parse_size("512m"), parse_size("2g"), parse_size("100")
    (536870912, 2147483648, 100)
    """
    if isinstance(text, int):
        return text
    if str(text).isdigit():  # the driver passes budgets to workers as plain byte counts
        return int(text)
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"Invalid size {text!r}: use a number with an optional unit, "
                         f"e.g. 512m or 2g")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def total_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def default_budget(num_workers):
    return int(total_memory() * DEFAULT_MACHINE_FRACTION / max(1, num_workers))


def rss_bytes():
    """This process's resident memory, from /proc (0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class MemoryMonitor:
    """Says when a worker should spill; ``budget`` None means never."""

    def __init__(self, budget, rss=rss_bytes, hysteresis=HYSTERESIS):
        self.budget = budget
        self._rss = rss
        #: after a spill the threshold is max(budget, RSS * hysteresis); 0 keeps it at
        #: the budget (tests use that to force every spill path)
        self.hysteresis = hysteresis
        self.threshold = budget
        #: bytes written to disk by spills, and an estimate of memory they freed
        self.disk_bytes_spilled = 0
        self.memory_bytes_spilled = 0
        #: called at each spill, before the threshold is raised: the worker lets
        #: cached blocks that have a disk copy leave memory (they share the budget)
        self.on_spill = None

    def over(self):
        return self.budget is not None and self._rss() > self.threshold

    def spilled(self, disk_bytes, memory_bytes=0):
        """Record a spill and raise the threshold above what the allocator kept."""
        self.disk_bytes_spilled += disk_bytes
        self.memory_bytes_spilled += memory_bytes
        if self.on_spill is not None:
            self.on_spill()
        if self.budget is not None:
            self.threshold = max(self.budget, int(self._rss() * self.hysteresis))

    def reset(self):
        """Between tasks: back to the budget, counters to zero."""
        self.threshold = self.budget
        self.disk_bytes_spilled = 0
        self.memory_bytes_spilled = 0



def pyspark_memory(text):
    """Bytes of ``spark.executor.pyspark.memory``: a bare number is MiB, as in Spark.

    >>> pyspark_memory("2g"), pyspark_memory("1536"), pyspark_memory(None)
    (2147483648, 1610612736, None)
    """
    if text is None or str(text).strip() == "":
        return None
    text = str(text).strip()
    return parse_size(text + "m" if text.isdigit() else text)


def apply_address_space_limit(limit):
    """Cap this process's address space (``RLIMIT_AS``) at ``limit`` bytes, as PySpark does.

    ``spark.executor.pyspark.memory`` is a hard OS limit: an allocation
    beyond it fails with MemoryError (``fastrdd.worker.memory`` is the soft
    RSS budget that makes a worker spill).  ``limit`` may be a byte count as
    a string (the environment) or None (no limit).  The limit is only ever
    lowered, soft and hard alike, so the worker cannot raise it again; where
    the OS has no ``resource`` module or refuses, a warning says so.
    """
    if limit in (None, ""):
        return
    limit = int(limit)
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY or limit < soft:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError) as e:
        import warnings

        warnings.warn(f"spark.executor.pyspark.memory: cannot limit the worker's address "
                      f"space to {limit} bytes ({e})", RuntimeWarning, stacklevel=2)
