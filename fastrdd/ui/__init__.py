"""What users see of their jobs, read from the scheduler's event stream only.

``store.py`` keeps the web UI's rows (a bus listener), ``api.py`` shapes
them as Spark's ``/api/v1`` and ``pages.py`` as HTML, with the lineage
picture from ``dagviz.py``; ``server.py`` serves both on loopback.
``eventlog.py`` writes the stream as JSON lines (``spark.eventLog.enabled``)
and ``history.py`` serves a log's UI again (``fastrdd ui EVENTLOG``);
``progress.py`` draws the console progress bar
(``spark.ui.showConsoleProgress``).
"""
