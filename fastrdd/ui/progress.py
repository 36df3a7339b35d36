"""The console progress bar: one line per running stage, as PySpark's console shows it.

::

    EventBus --ConsoleProgress(listener)--> tqdm bar on stderr
        StageSubmitted: a bar of numTasks (shown once the stage has run 0.5 s)
        TaskStart / TaskEnd: finished + running / total, counted, never estimated
        StageCompleted: the bar goes away

On by default when stderr is a terminal and ``CI`` is not set;
``spark.ui.showConsoleProgress`` turns it on or off.  Drawing is tqdm's
(rate-limited redraws), so a stage of many short tasks costs a counter
update per task.
"""
import os
import sys
import threading

from fastrdd.scheduler import events

__all__ = ["ConsoleProgress", "wanted"]

#: seconds a stage runs before its bar appears (short stages stay silent)
SHOW_AFTER = 0.5


def wanted(conf, stream=None, environ=None):
    """Whether to draw progress: the setting if given, else only on a terminal and not in CI."""
    setting = str(conf.get("spark.ui.showConsoleProgress", "")).strip().lower()
    if setting in ("true", "false"):
        return setting == "true"
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    return bool(getattr(stream, "isatty", lambda: False)()) and not environ.get("CI")


class ConsoleProgress:
    """A bus listener drawing a tqdm bar per active stage."""

    def __init__(self, stream=None, delay=SHOW_AFTER):
        self.stream = sys.stderr if stream is None else stream
        self.delay = delay
        #: stage id -> [tqdm bar, running tasks]
        self._bars = {}
        self._lock = threading.Lock()

    def __call__(self, event):
        kind = type(event)
        with self._lock:
            if kind is events.StageSubmitted:
                self._open(event)
                return
            entry = self._bars.get(getattr(event, "stage_id", None))
            if entry is None:
                return
            bar = entry[0]
            if kind is events.TaskStart:
                entry[1] += 1
            elif kind is events.TaskEnd:
                entry[1] -= 1
                if event.status == "SUCCESS":
                    bar.update(1)
            elif kind is events.StageCompleted:
                bar.close()
                del self._bars[event.stage_id]
                return
            bar.unit = str(entry[1])  # the running count, in the bar's format

    def _open(self, event):
        from tqdm import tqdm

        # "[Stage 3:=====>   (finished + running) / total]", as PySpark's console
        bar = tqdm(total=event.num_tasks, desc=f"[Stage {event.stage_id}", file=self.stream,
                   delay=self.delay, leave=False, dynamic_ncols=True, unit="0",
                   bar_format="{desc}:{bar}({n_fmt} + {unit}) / {total_fmt}]")
        self._bars[event.stage_id] = [bar, 0]

    def close(self):
        with self._lock:
            for bar, _ in self._bars.values():
                bar.close()
            self._bars.clear()
