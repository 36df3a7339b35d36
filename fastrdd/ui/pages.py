"""The web UI's HTML pages, rendered from the REST data (``api.py``).

One function per page, each returning the page body; ``render(store,
path, query)`` picks it and wraps it in the common layout: the tab bar of
Spark's UI (Jobs, Stages, Storage, Executors, Environment), and a small
script that re-fetches the page every ``REFRESH_MS`` while the application
runs and swaps in the new content, so figures move while a job runs.  No
page fetches anything else and nothing here writes: the UI only reads.
"""
import time
from html import escape

from fastrdd.ui import api
from fastrdd.ui.dagviz import render_job_graph

__all__ = ["render", "format_bytes", "format_duration", "REFRESH_MS"]

#: how often an open page refreshes itself while the application runs
REFRESH_MS = 1000

TABS = [("jobs", "Jobs"), ("stages", "Stages"), ("storage", "Storage"),
        ("executors", "Executors"), ("environment", "Environment")]

STYLE = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;
 font-size:14px;background:#fafafa}
header{background:#2b3a4a;color:#fff;display:flex;align-items:center;padding:0 16px;height:46px}
header .brand{font-weight:600;font-size:18px;margin-right:28px}
header .brand span{color:#f0a030}
header nav a{color:#cfd8e3;text-decoration:none;padding:14px 12px;display:inline-block}
header nav a.active{color:#fff;border-bottom:3px solid #f0a030}
header .app{margin-left:auto;color:#cfd8e3}
main{padding:16px 22px}
h2{font-size:20px;margin:4px 0 12px}
h3{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;background:#fff;min-width:60%;margin-bottom:8px}
th,td{border:1px solid #ddd;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{position:relative;width:180px;height:16px;background:#eee;border-radius:3px;overflow:hidden}
.bar .done{position:absolute;left:0;top:0;bottom:0;background:#7bc47b}
.bar .run{position:absolute;top:0;bottom:0;background:#9cc3e8}
.bar .label{position:absolute;width:100%;text-align:center;font-size:11px;line-height:16px}
ul.summary{list-style:none;padding:0;margin:0 0 10px}
ul.summary li{margin:3px 0}
.status-RUNNING,.status-ACTIVE{color:#2f6fb5;font-weight:600}
.status-FAILED{color:#c0392b;font-weight:600}
.status-SUCCEEDED,.status-COMPLETE,.status-SUCCESS{color:#3a8a3a}
.muted{color:#888}
.error{color:#c0392b;font-family:monospace;font-size:12px}
svg.dag{background:#fff;border:1px solid #ddd;margin:6px 0 14px}
svg.dag text{font-size:12px;font-family:inherit}
svg.dag .stage-title{font-weight:600;fill:#333}
svg.dag .rdd-site{fill:#666;font-size:11px}
.empty{color:#888}
"""

SCRIPT = """
(function(){var live=document.body.dataset.live==="true";if(!live)return;
function tick(){fetch(location.href,{cache:"no-store"}).then(function(r){return r.text()})
.then(function(t){var d=new DOMParser().parseFromString(t,"text/html");
document.getElementById("content").innerHTML=d.getElementById("content").innerHTML;
document.body.dataset.live=d.body.dataset.live;
if(d.body.dataset.live==="true")setTimeout(tick,%d)}).catch(function(){setTimeout(tick,%d)})}
setTimeout(tick,%d)})();
""" % (REFRESH_MS, REFRESH_MS * 3, REFRESH_MS)


def format_bytes(n):
    """Sizes as Spark's UI writes them: ``0.0 B``, ``12.3 KiB``, ``4.0 MiB``."""
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
        n /= 1024


def format_duration(ms):
    if ms is None:
        return ""
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _when(stamp):
    """A REST time stamp shown in the viewer's terms (the server's local time)."""
    if not stamp:
        return ""
    seconds = time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(seconds))


def _bar(done, running, total):
    total = max(total, 1)
    d, r = 100.0 * done / total, 100.0 * running / total
    return (f'<div class="bar" title="{done} done, {running} running, {total} in all">'
            f'<div class="done" style="width:{d:.1f}%"></div>'
            f'<div class="run" style="left:{d:.1f}%;width:{r:.1f}%"></div>'
            f'<div class="label">{done}/{total}{f" ({running} running)" if running else ""}'
            f'</div></div>')


def _table(headers, rows, cls):
    if not rows:
        return f'<p class="empty">None.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(value, num=False):
    return f'<td class="num">{value}</td>' if num else f"<td>{value}</td>"


def _status(text):
    return f'<span class="status-{escape(str(text))}">{escape(str(text))}</span>'


# -- pages -------------------------------------------------------------------------
def jobs_page(store, query):
    app = api.application(store)
    attempt = app["attempts"][0]
    all_jobs = api.jobs(store)
    parts = [f"<h2>Jobs</h2><ul class='summary'><li><b>User:</b> "
             f"{escape(str(attempt['sparkUser']))}</li><li><b>Total uptime:</b> "
             f"{format_duration(attempt['duration'])}</li><li><b>Master:</b> "
             f"{escape(str(attempt.get('master')))}</li>"]
    for status in ("RUNNING", "SUCCEEDED", "FAILED"):
        parts.append(f"<li><b>{status.title()} jobs:</b> "
                     f"{sum(j['status'] == status for j in all_jobs)}</li>")
    parts.append("</ul>")
    for status, title in (("RUNNING", "Active Jobs"), ("SUCCEEDED", "Completed Jobs"),
                          ("FAILED", "Failed Jobs")):
        rows = [[_td(j["jobId"], True),
                 _td(f'<a href="/jobs/job/?id={j["jobId"]}">{escape(j["name"])}</a>'
                     + (f'<div class="muted">{escape(j["description"])}</div>'
                        if j["description"] else "")
                     + (f'<div class="muted">group {escape(j["jobGroup"])}</div>'
                        if j["jobGroup"] else "")),
                 _td(_when(j["submissionTime"])), _td(format_duration(j["duration"]), True),
                 _td(f'{j["numCompletedStages"]}/{_stage_total(j)}'
                     + (f' ({j["numSkippedStages"]} skipped)' if j["numSkippedStages"] else "")),
                 _td(_bar(j["numCompletedTasks"], j["numActiveTasks"], j["numTasks"]))]
                for j in all_jobs if j["status"] == status]
        parts.append(f'<h3 id="{status.lower()}-jobs">{title} ({len(rows)})</h3>')
        parts.append(_table(["Job Id", "Description", "Submitted", "Duration",
                             "Stages: Succeeded/Total", "Tasks: Succeeded/Total"],
                            rows, f"jobs jobs-{status.lower()}"))
    return "Jobs", "jobs", "".join(parts)


def _stage_total(j):
    return (j["numCompletedStages"] + j["numActiveStages"] + j["numFailedStages"]
            + j["numPendingStages"])


def _stage_rows(stages):
    return [[_td(f'<a href="/stages/stage/?id={s["stageId"]}">{s["stageId"]}</a>', True),
             _td(escape(s["name"]) + f' <span class="muted">({s["kind"]})</span>'),
             _td(_when(s["submissionTime"])),
             _td(format_duration(s["duration"]), True),
             _td(_bar(s["numCompleteTasks"], s["numActiveTasks"], s["numTasks"])
                 + (f' <span class="status-FAILED">{s["numFailedTasks"]} failed</span>'
                    if s["numFailedTasks"] else "")),
             _td(format_bytes(s["inputBytes"]), True),
             _td(f'{s["inputRecords"]}', True),
             _td(format_bytes(s["shuffleReadBytes"]), True),
             _td(format_bytes(s["shuffleWriteBytes"]), True),
             _td(format_bytes(s["memoryBytesSpilled"] + s["diskBytesSpilled"]), True)]
            for s in stages]


STAGE_HEADERS = ["Stage Id", "Description", "Submitted", "Duration", "Tasks: Succeeded/Total",
                 "Input", "Records", "Shuffle Read", "Shuffle Write", "Spill"]


def job_page(store, query):
    job_id = _id(query)
    j = api.job(store, job_id)
    graph, status = api.job_graph(store, job_id)
    stages = [s for s in api.stages(store) if s["stageId"] in set(j["stageIds"])]
    body = [f"<h2>Details for Job {job_id}</h2><ul class='summary'>"
            f"<li><b>Name:</b> {escape(j['name'])}</li>"
            f"<li><b>Status:</b> {_status(j['status'])}</li>"
            f"<li><b>Submitted:</b> {_when(j['submissionTime'])}</li>"
            f"<li><b>Duration:</b> {format_duration(j['duration'])}</li>"
            + (f"<li><b>Job group:</b> {escape(j['jobGroup'])}</li>" if j["jobGroup"] else "")
            + (f"<li><b>Error:</b> <span class='error'>{escape(j['errorMessage'])}</span></li>"
               if j["errorMessage"] else "")
            + "</ul><h3>DAG Visualization</h3>", render_job_graph(graph, status),
            f"<h3>Stages ({len(stages)})</h3>",
            _table(STAGE_HEADERS, _stage_rows(stages), "stages")]
    return f"Job {job_id}", "jobs", "".join(body)


def stages_page(store, query):
    stages = api.stages(store)
    parts = ["<h2>Stages for All Jobs</h2>"]
    for status, title in (("ACTIVE", "Active Stages"), ("COMPLETE", "Completed Stages"),
                          ("FAILED", "Failed Stages"), ("SKIPPED", "Skipped Stages")):
        mine = [s for s in stages if s["status"] == status]
        parts.append(f'<h3 id="{status.lower()}-stages">{title} ({len(mine)})</h3>')
        parts.append(_table(STAGE_HEADERS, _stage_rows(mine), f"stages stages-{status.lower()}"))
    return "Stages", "stages", "".join(parts)


def stage_page(store, query):
    stage_id = _id(query)
    s = api.stage(store, stage_id)[0]
    tasks = sorted(s["tasks"].values(), key=lambda t: (t["index"], t["attempt"], t["taskId"]))
    durations = sorted(t["duration"] or 0 for t in tasks if t["status"] == "SUCCESS")
    quantiles = ""
    if durations:
        picks = [durations[min(len(durations) - 1, int(q * len(durations)))]
                 for q in (0, 0.25, 0.5, 0.75, 0.999)]
        quantiles = _table(["Metric", "Min", "25th percentile", "Median", "75th percentile",
                            "Max"], [[_td("Duration")] + [_td(format_duration(p), True)
                                                          for p in picks]], "quantiles")
    rows = [[_td(t["index"], True), _td(t["taskId"], True), _td(t["attempt"], True),
             _td(_status(t["status"])), _td(f'{escape(t["executorId"])} / {escape(t["host"])}'),
             _td(_when(t["launchTime"])), _td(format_duration(t["duration"]), True),
             _td(f'{format_bytes(t["taskMetrics"]["inputBytes"])} / '
                 f'{t["taskMetrics"]["inputRecords"]}', True),
             _td(f'{format_bytes(t["taskMetrics"]["shuffleReadBytes"])} / '
                 f'{t["taskMetrics"]["shuffleReadRecords"]}', True),
             _td(f'{format_bytes(t["taskMetrics"]["shuffleWriteBytes"])} / '
                 f'{t["taskMetrics"]["shuffleWriteRecords"]}', True),
             _td(f'{format_bytes(t["taskMetrics"]["memoryBytesSpilled"])} / '
                 f'{format_bytes(t["taskMetrics"]["diskBytesSpilled"])}', True),
             _td(f'<span class="error">{escape(t["errorMessage"] or "")}</span>')]
            for t in tasks]
    body = [f"<h2>Details for Stage {stage_id}</h2><ul class='summary'>"
            f"<li><b>Name:</b> {escape(s['name'])} ({s['kind']} stage of "
            f"<a href='/jobs/job/?id={s['jobId']}'>job {s['jobId']}</a>)</li>"
            f"<li><b>Status:</b> {_status(s['status'])}</li>"
            f"<li><b>Tasks:</b> {s['numCompleteTasks']} succeeded, {s['numActiveTasks']} "
            f"running, {s['numFailedTasks']} failed, {s['numTasks']} in all</li>"
            f"<li><b>Total task time:</b> {format_duration(s['executorRunTime'])}</li>"
            f"<li><b>Input:</b> {format_bytes(s['inputBytes'])} / {s['inputRecords']} "
            f"records</li><li><b>Shuffle read:</b> {format_bytes(s['shuffleReadBytes'])} / "
            f"{s['shuffleReadRecords']} records</li><li><b>Shuffle write:</b> "
            f"{format_bytes(s['shuffleWriteBytes'])} / {s['shuffleWriteRecords']} records</li>"
            f"<li><b>Spill (memory / disk):</b> {format_bytes(s['memoryBytesSpilled'])} / "
            f"{format_bytes(s['diskBytesSpilled'])}</li>"
            + (f"<li><b>Failure:</b> <span class='error'>{escape(s['failureReason'])}</span></li>"
               if s["failureReason"] else "") + "</ul>",
            "<h3>Summary Metrics for Completed Tasks</h3>" + quantiles if quantiles else "",
            f"<h3>Tasks ({len(tasks)})</h3>",
            _table(["Index", "Task ID", "Attempt", "Status", "Executor / Host", "Launch Time",
                    "Duration", "Input Size / Records", "Shuffle Read / Records",
                    "Shuffle Write / Records", "Spill (Memory / Disk)", "Errors"], rows, "tasks")]
    return f"Stage {stage_id}", "stages", "".join(body)


def storage_page(store, query):
    rows = [[_td(f'<a href="/storage/rdd/?id={r["id"]}">{escape(r["name"])}</a>'),
             _td(escape(r["storageLevel"])), _td(r["numCachedPartitions"], True),
             _td(f'{100.0 * r["fractionCached"]:.0f}%', True),
             _td(format_bytes(r["memoryUsed"]), True), _td(format_bytes(r["diskUsed"]), True)]
            for r in api.rdds(store)]
    return "Storage", "storage", "<h2>Storage</h2><h3>RDDs</h3>" + _table(
        ["RDD Name", "Storage Level", "Cached Partitions", "Fraction Cached", "Size in Memory",
         "Size on Disk"], rows, "storage")


def rdd_page(store, query):
    r = api.rdd(store, _id(query))
    dist = [[_td(escape(d["executorId"])), _td(escape(d["address"])), _td(d["blocks"], True),
             _td(format_bytes(d["memoryUsed"]), True), _td(format_bytes(d["diskUsed"]), True)]
            for d in r["dataDistribution"]]
    parts = [[_td(escape(p["blockName"])), _td(escape(p["storageLevel"])),
              _td(format_bytes(p["memoryUsed"]), True), _td(format_bytes(p["diskUsed"]), True),
              _td(escape(", ".join(p["executors"])))] for p in r["partitions"]]
    body = (f"<h2>RDD Storage Info for {escape(r['name'])}</h2><ul class='summary'>"
            f"<li><b>Storage Level:</b> {escape(r['storageLevel'])}</li>"
            f"<li><b>Cached Partitions:</b> {r['numCachedPartitions']} of "
            f"{r['numPartitions']}</li><li><b>Created by:</b> {escape(str(r['callSite']))}</li>"
            f"<li><b>Total Size in Memory:</b> {format_bytes(r['memoryUsed'])}</li>"
            f"<li><b>Total Size on Disk:</b> {format_bytes(r['diskUsed'])}</li></ul>"
            "<h3>Data Distribution on Workers</h3>"
            + _table(["Executor", "Address", "Blocks", "Memory Usage", "Disk Usage"], dist,
                     "distribution")
            + f"<h3>Partitions ({len(parts)})</h3>"
            + _table(["Block Name", "Storage Level", "Size in Memory", "Size on Disk",
                      "Executors"], parts, "partitions"))
    return f"RDD {r['id']}", "storage", body


def executors_page(store, query):
    rows = [[_td(escape(e["id"])), _td(escape(e["hostPort"])),
             _td("Active" if e["isActive"] else f'Lost <span class="muted">'
                 f'{escape(e["removeReason"] or "")}</span>'),
             _td(e["rddBlocks"], True), _td(format_bytes(e["memoryUsed"]), True),
             _td(format_bytes(e["diskUsed"]), True), _td(e["totalCores"], True),
             _td(e["activeTasks"], True), _td(e["failedTasks"], True),
             _td(e["completedTasks"], True), _td(e["totalTasks"], True),
             _td(format_duration(e["totalDuration"]), True),
             _td(format_bytes(e["totalInputBytes"]), True),
             _td(format_bytes(e["totalShuffleRead"]), True),
             _td(format_bytes(e["totalShuffleWrite"]), True)]
            for e in api.executors(store, include_lost=True)]
    alive = sum(e["isActive"] for e in api.executors(store, include_lost=True))
    return "Executors", "executors", (
        f"<h2>Executors</h2><ul class='summary'><li><b>Workers alive:</b> {alive}</li></ul>"
        + _table(["Executor ID", "Address", "Status", "RDD Blocks", "Storage Memory",
                  "Disk Used", "Cores", "Active Tasks", "Failed Tasks", "Complete Tasks",
                  "Total Tasks", "Task Time", "Input", "Shuffle Read", "Shuffle Write"],
                 rows, "executors"))


def environment_page(store, query):
    env = api.environment(store)
    runtime = [[_td(escape(k)), _td(escape(str(v)))] for k, v in env["runtime"].items()]
    props = [[_td(escape(k)), _td(escape(v))] for k, v in env["sparkProperties"]]
    system = [[_td(escape(k)), _td(escape(str(v)))] for k, v in env["systemProperties"]]
    return "Environment", "environment", (
        "<h2>Environment</h2><h3>Runtime Information</h3>"
        + _table(["Name", "Value"], runtime, "runtime")
        + "<h3>Spark Properties</h3>" + _table(["Name", "Value"], props, "properties")
        + "<h3>System Properties</h3>" + _table(["Name", "Value"], system, "system"))


PAGES = {"/jobs/": jobs_page, "/jobs/job/": job_page, "/stages/": stages_page,
         "/stages/stage/": stage_page, "/storage/": storage_page, "/storage/rdd/": rdd_page,
         "/executors/": executors_page, "/environment/": environment_page}


def _id(query):
    try:
        return int(query.get("id", ""))
    except ValueError:
        raise LookupError(f"not an id: {query.get('id')!r}") from None


def render(store, path, query):
    """The whole HTML page for ``path``; LookupError when there is no such page or row."""
    if not path.endswith("/"):
        path += "/"
    page = PAGES.get(path)
    if page is None:
        raise LookupError(f"no page {path}")
    title, tab, body = page(store, query)
    app = store.app
    live = "true" if store.ended is None else "false"
    nav = "".join(f'<a href="/{key}/" class="{"active" if key == tab else ""}">{name}</a>'
                  for key, name in TABS)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(str(app.get('app_name', 'fastrdd')))} - {escape(title)}</title>"
            f"<style>{STYLE}</style></head><body data-live='{live}'><header>"
            f"<div class='brand'>fast<span>rdd</span></div><nav>{nav}</nav>"
            f"<div class='app'>{escape(str(app.get('app_name', '')))} application UI"
            f"{'' if live == 'true' else ' (finished)'}</div></header>"
            f"<main id='content'>{body}</main><script>{SCRIPT}</script></body></html>")
