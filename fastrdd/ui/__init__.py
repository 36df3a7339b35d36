"""What users see of their jobs, read from the scheduler's event stream only.

``eventlog.py`` writes the stream as JSON lines (``spark.eventLog.enabled``)
and replays a log into a ``StatusTracker``; ``progress.py`` draws the
console progress bar (``spark.ui.showConsoleProgress``).
"""
