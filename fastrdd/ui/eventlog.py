"""The event log: the scheduler's event stream, as JSON lines, one file per application.

::

    EventBus --EventLog(listener)--> <spark.eventLog.dir>/<app id>.jsonl.inprogress
                                     renamed <app id>.jsonl when the context stops

    python -m fastrdd.ui.eventlog FILE      # what a finished run did: jobs, stages, tasks

With ``spark.eventLog.enabled=true`` every event of ``scheduler.events`` is
written as one JSON object per line, ``{"Event": "<type>", <its fields>}``,
between an ``ApplicationStart`` line (name, id, master, settings) and an
``ApplicationEnd`` line.  ``read_events`` turns a file back into the event
tuples, and ``replay`` feeds them to a fresh ``JobRegistry``, so that a
finished run is inspected with the same ``StatusTracker`` as a live one.
"""
import json
import os
import sys
import threading

from fastrdd.protocol import TaskMetrics
from fastrdd.scheduler import events
from fastrdd.scheduler.status import JobRegistry, StatusTracker

__all__ = ["EventLog", "read_events", "event_from_record", "replay", "main"]

class EventLog:
    """A bus listener writing each event as a JSON line (thread-safe, buffered)."""

    def __init__(self, directory, app_id):
        os.makedirs(directory, exist_ok=True)
        #: the file once complete; written as ``<path>.inprogress`` until ``close``
        self.path = os.path.join(directory, f"{app_id}.jsonl")
        self._lock = threading.Lock()
        self._file = open(f"{self.path}.inprogress", "w", encoding="utf-8", buffering=1 << 16)

    def __call__(self, event):
        record = {"Event": type(event).__name__, **event._asdict()}
        if type(event) is events.TaskEnd:
            record["metrics"] = event.metrics._asdict()
        line = json.dumps(record, default=repr)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")

    def close(self):
        """Give the log its final name (after the context posted ApplicationEnd)."""
        with self._lock:
            if self._file is None:
                return
            self._file.close()
            self._file = None
        os.replace(f"{self.path}.inprogress", self.path)


def event_from_record(record):
    """The event tuple of one decoded JSON line, or None for a type this version does not know."""
    record = dict(record)
    cls = events.ALL.get(record.pop("Event", None))
    if cls is None:
        return None  # written by a newer version: skipped, not fatal
    fields = {k: record.get(k) for k in cls._fields}
    if cls is events.TaskEnd:
        metrics = fields["metrics"] or {}
        fields["metrics"] = TaskMetrics(*(metrics.get(k, 0) for k in TaskMetrics._fields))
    return cls(**fields)


def read_events(path):
    """(application info, [event tuples]) of an event log file (complete or in progress)."""
    app, out = {}, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                record = json.loads(line)
            except ValueError:
                if line.endswith("\n"):
                    raise ValueError(f"{path}:{number}: not a JSON line") from None
                break  # the last line of a log still being written
            event = event_from_record(record)
            if event is None:
                continue
            if type(event) is events.ApplicationStart:
                app = {k: v for k, v in record.items() if k != "Event"}
            out.append(event)
    return app, out


def replay(path):
    """A StatusTracker over a finished (or running) application's event log."""
    registry = JobRegistry()
    _, logged = read_events(path)
    for event in logged:
        registry(event)
    return StatusTracker(registry)


def summary(path):
    """Lines describing what the application in ``path`` did."""
    app, logged = read_events(path)
    tracker = replay(path)
    durations = {}
    for event in logged:
        if type(event) is events.TaskEnd:
            durations.setdefault(event.stage_id, []).append(event.duration)
    lines = [f"{app.get('app_name')} ({app.get('app_id')}, master {app.get('master')})"]
    jobs = sorted(e.job_id for e in logged if type(e) is events.JobStart)
    for job in jobs:
        info = tracker.getJobInfo(job)
        lines.append(f"job {job}: {info.status}, stages {info.stageIds}")
        for stage in info.stageIds:
            s = tracker.getStageInfo(stage)
            took = sum(durations.get(stage, ()))
            lines.append(f"  stage {stage} {s.name}: {s.numCompletedTasks}/{s.numTasks} tasks "
                         f"done, {s.numFailedTasks} failed, {took:.3f} s of task time")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m fastrdd.ui.eventlog EVENTLOG_FILE", file=sys.stderr)
        return 2
    print("\n".join(summary(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
