"""The UI's data as Spark's monitoring REST API shapes it (``/api/v1/...``).

Each function reads an ``AppStore`` under its lock and returns plain JSON
data with the field names of Spark's ``status/api/v1`` (``jobId``,
``numCompletedTasks``, ``shuffleWriteBytes``...), so scripts written for
Spark's UI read fastrdd's.  The HTML pages (``pages.py``) render these same
dicts: what a page shows and what the API says cannot drift apart.

``route(store, path, query)`` maps a path under ``/api/v1`` to its data,
or raises ``LookupError`` (a 404) naming what was not found.
"""
import os
import platform
import sys
import time

from fastrdd.ui.store import METRIC_FIELDS

__all__ = ["application", "jobs", "job", "stages", "stage", "task_list", "rdds", "rdd",
           "executors", "environment", "job_graph", "route", "spark_time"]


def spark_time(seconds):
    """Spark's REST time stamps: ``2024-01-02T03:04:05.678GMT``."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + \
        ".%03dGMT" % int(seconds * 1000 % 1000)


def _ms(seconds):
    return None if seconds is None else int(round(seconds * 1000))


def application(store):
    with store.lock:
        app = dict(store.app)
        ended = store.ended
    start = app.get("time")
    end = ended
    return {"id": app.get("app_id"), "name": app.get("app_name"), "attempts": [{
        "startTime": spark_time(start), "endTime": spark_time(end),
        "lastUpdated": spark_time(end or time.time()),
        "duration": _ms((end or time.time()) - start) if start else 0,
        "sparkUser": app.get("user"), "completed": ended is not None,
        "appSparkVersion": app.get("version"), "master": app.get("master")}]}


def _job(row, stages):
    """A job's row; its totals count the stages still to run, as planned in its graph."""
    mine = [stages[s] for s in row.stage_ids if s in stages]
    submitted = {s.shuffle_id for s in mine}
    pending = [s for s in row.graph.get("stages", ())
               if s["key"] not in submitted and s["key"] not in row.skipped]
    tasks = sum(s.num_tasks for s in mine) + sum(s.get("tasks", 0) for s in pending)
    return {
        "jobId": row.job_id, "name": row.name, "description": row.description,
        "submissionTime": spark_time(row.submitted), "completionTime": spark_time(row.completed),
        "duration": _ms((row.completed or time.time()) - row.submitted),
        "stageIds": sorted(row.stage_ids + list(row.skipped.values())),
        "skippedStageIds": sorted(row.skipped.values()),
        "jobGroup": row.group, "status": row.status,
        "errorMessage": row.error,
        "numTasks": tasks,
        "numActiveTasks": sum(s.active for s in mine),
        "numCompletedTasks": sum(s.succeeded for s in mine),
        "numSkippedTasks": row.skipped_tasks,
        "numFailedTasks": sum(s.failed for s in mine),
        "numKilledTasks": 0,
        "numActiveStages": sum(s.status == "ACTIVE" for s in mine),
        "numCompletedStages": sum(s.status == "COMPLETE" for s in mine),
        "numSkippedStages": len(row.skipped),
        "numFailedStages": sum(s.status == "FAILED" for s in mine),
        "numPendingStages": len(pending),
    }


def jobs(store, status=None):
    """Newest first, as Spark lists them; ``status`` filters (running, succeeded, failed)."""
    with store.lock:
        out = [_job(row, store.stages) for row in reversed(list(store.jobs.values()))]
    if status:
        wanted = {s.strip().upper() for s in status.split(",")}
        out = [j for j in out if j["status"] in wanted]
    return out


def job(store, job_id):
    with store.lock:
        row = store.jobs.get(job_id)
        if row is None:
            raise LookupError(f"unknown job: {job_id}")
        return _job(row, store.stages)


def _metrics(values):
    m = dict(zip(METRIC_FIELDS, values))
    return {"inputBytes": m["input_bytes"], "inputRecords": m["input_records"],
            "shuffleReadBytes": m["shuffle_read_bytes"],
            "shuffleReadRecords": m["shuffle_read_records"],
            "shuffleWriteBytes": m["shuffle_write_bytes"],
            "shuffleWriteRecords": m["shuffle_write_records"],
            "memoryBytesSpilled": m["memory_bytes_spilled"],
            "diskBytesSpilled": m["disk_bytes_spilled"],
            "resultSize": m["result_bytes"]}


def _task(row, hosts):
    return {"taskId": row.task_id, "index": row.split, "attempt": row.attempt,
            "launchTime": spark_time(row.launched),
            "duration": _ms(row.duration if row.duration is not None
                            else time.time() - row.launched),
            "executorId": str(row.executor_id), "host": hosts.get(row.executor_id, ""),
            "status": row.status, "errorMessage": row.error,
            "taskMetrics": _metrics(row.metrics)}


def _stage(row, store, details):
    out = {"status": row.status, "stageId": row.stage_id, "attemptId": 0,
           "jobId": row.job_id, "kind": row.kind, "name": row.name,
           "numTasks": row.num_tasks, "numActiveTasks": row.active,
           "numCompleteTasks": row.succeeded, "numFailedTasks": row.failed,
           "numKilledTasks": 0, "executorRunTime": _ms(row.task_time),
           "submissionTime": spark_time(row.submitted),
           "completionTime": spark_time(row.completed),
           "duration": _ms((row.completed or time.time()) - row.submitted),
           "failureReason": row.failure, "rddIds": [row.rdd_id], "shuffleId": row.shuffle_id}
    out.update(_metrics(row.metrics))
    if details:
        hosts = {e.executor_id: e.host for e in store.executors.values()}
        out["tasks"] = {str(t.task_id): _task(t, hosts) for t in row.tasks.values()}
    return out


def stages(store, status=None):
    with store.lock:
        out = [_stage(row, store, False) for row in reversed(list(store.stages.values()))]
    if status:
        wanted = {s.strip().upper() for s in status.split(",")}
        out = [s for s in out if s["status"] in wanted]
    return out


def stage(store, stage_id, details=True):
    """The attempts of a stage (fastrdd runs a retry as a new stage: one attempt each)."""
    with store.lock:
        row = store.stages.get(stage_id)
        if row is None:
            raise LookupError(f"unknown stage: {stage_id}")
        return [_stage(row, store, details)]


def task_list(store, stage_id, offset=0, length=20, sort_by=None):
    with store.lock:
        row = store.stages.get(stage_id)
        if row is None:
            raise LookupError(f"unknown stage: {stage_id}")
        hosts = {e.executor_id: e.host for e in store.executors.values()}
        tasks = [_task(t, hosts) for t in row.tasks.values()]
    if sort_by in ("-runtime", "runtime"):
        tasks.sort(key=lambda t: t["duration"] or 0, reverse=sort_by == "-runtime")
    return tasks[offset:offset + length]


def _rdd(row, store, details):
    info = row.info or store.rdd_info.get(row.rdd_id, {})
    parts = info.get("partitions") or 0
    cached = {split for split, _ in row.blocks}
    out = {"id": row.rdd_id, "name": info.get("name") or f"{info.get('kind', 'RDD')} "
                                                         f"[{row.rdd_id}]",
           "numPartitions": parts, "numCachedPartitions": len(cached),
           "storageLevel": info.get("storage_level") or "Memory Deserialized 1x Replicated",
           "memoryUsed": sum(m for m, _ in row.blocks.values()),
           "diskUsed": sum(d for _, d in row.blocks.values()),
           "fractionCached": len(cached) / parts if parts else 1.0,
           "callSite": f"{info.get('op')} at {info.get('site')}" if info else None}
    if details:
        by_executor = {}
        for (split, wid), (mem, disk) in sorted(row.blocks.items()):
            executor = store.executors.get(wid)
            address = f"{executor.host}:{executor.pid}" if executor else str(wid)
            entry = by_executor.setdefault(wid, {"executorId": str(wid), "address": address,
                                                 "memoryUsed": 0, "diskUsed": 0, "blocks": 0})
            entry["memoryUsed"] += mem
            entry["diskUsed"] += disk
            entry["blocks"] += 1
        out["dataDistribution"] = list(by_executor.values())
        out["partitions"] = [
            {"blockName": f"rdd_{row.rdd_id}_{split}", "storageLevel": out["storageLevel"],
             "memoryUsed": mem, "diskUsed": disk, "executors": [str(wid)]}
            for (split, wid), (mem, disk) in sorted(row.blocks.items())]
    return out


def rdds(store):
    with store.lock:
        return [_rdd(row, store, False) for row in sorted(store.rdds.values(),
                                                            key=lambda r: r.rdd_id)]


def rdd(store, rdd_id):
    with store.lock:
        row = store.rdds.get(rdd_id)
        if row is None:
            raise LookupError(f"RDD {rdd_id} is not cached")
        return _rdd(row, store, True)


def _executor(row):
    m = dict(zip(METRIC_FIELDS, row.metrics))
    return {"id": str(row.executor_id), "hostPort": f"{row.host}:{row.pid}",
            "host": row.host, "pid": row.pid, "isActive": row.removed is None,
            "rddBlocks": len(row.blocks),
            "memoryUsed": sum(mem for mem, _ in row.blocks.values()),
            "diskUsed": sum(disk for _, disk in row.blocks.values()),
            "totalCores": row.cores, "activeTasks": row.active, "failedTasks": row.failed,
            "completedTasks": row.completed, "totalTasks": row.active + row.failed + row.completed,
            "totalDuration": _ms(row.task_time), "totalInputBytes": m["input_bytes"],
            "totalShuffleRead": m["shuffle_read_bytes"],
            "totalShuffleWrite": m["shuffle_write_bytes"],
            "addTime": spark_time(row.added), "removeTime": spark_time(row.removed),
            "removeReason": row.reason}


def executors(store, include_lost=False):
    """The workers (``/executors``: live ones; ``/allexecutors``: lost ones too)."""
    with store.lock:
        rows = sorted(store.executors.values(), key=lambda r: r.executor_id)
        return [_executor(r) for r in rows if include_lost or r.removed is None]


def environment(store):
    with store.lock:
        app = dict(store.app)
    settings = app.get("settings") or {}
    return {"runtime": {"pythonVersion": app.get("python") or platform.python_version(),
                        "fastrddVersion": app.get("version"), "master": app.get("master")},
            "sparkProperties": sorted([k, str(v)] for k, v in settings.items()),
            "systemProperties": [["python.executable", sys.executable],
                                 ["os.name", platform.system()], ["user.dir", os.getcwd()]]}


def job_graph(store, job_id):
    """A job's lineage (``JobStart.graph``) with each stage's live status, for the picture."""
    with store.lock:
        row = store.jobs.get(job_id)
        if row is None:
            raise LookupError(f"unknown job: {job_id}")
        graph = row.graph
        status = {key: (stage_id, "SKIPPED") for key, stage_id in row.skipped.items()}
        for sid in row.stage_ids:
            s = store.stages.get(sid)
            if s is not None:  # a re-run of a map stage: its newest attempt tells
                status[s.shuffle_id] = (s.stage_id, s.status)
    return graph, status


def route(store, path, query):
    """The data for ``/api/v1/<path>``; LookupError if there is none."""
    parts = [p for p in path.split("/") if p]
    app_id = store.app.get("app_id")
    if parts == ["version"]:
        return {"spark": store.app.get("version")}
    if parts == ["applications"]:
        return [application(store)]
    if len(parts) < 2 or parts[0] != "applications" or parts[1] != app_id:
        raise LookupError(f"no such resource: /api/v1/{path} (this application is {app_id})")
    rest = parts[2:]
    status = query.get("status")
    if not rest:
        return application(store)
    head = rest[0]
    if head == "jobs" and len(rest) == 1:
        return jobs(store, status)
    if head == "jobs" and len(rest) == 2:
        return job(store, _number(rest[1], "job"))
    if head == "stages" and len(rest) == 1:
        return stages(store, status)
    if head == "stages" and len(rest) in (2, 3):
        details = query.get("details", "true").lower() != "false"
        attempts = stage(store, _number(rest[1], "stage"), details)
        if len(rest) == 3:
            if _number(rest[2], "attempt") != 0:
                raise LookupError(f"stage {rest[1]} has no attempt {rest[2]}")
            return attempts[0]
        return attempts
    if head == "stages" and len(rest) == 4 and rest[3] == "taskList":
        return task_list(store, _number(rest[1], "stage"), int(query.get("offset", 0)),
                         int(query.get("length", 20)), query.get("sortBy"))
    if rest == ["storage", "rdd"]:
        return rdds(store)
    if head == "storage" and len(rest) == 3 and rest[1] == "rdd":
        return rdd(store, _number(rest[2], "RDD"))
    if rest == ["executors"]:
        return executors(store)
    if rest == ["allexecutors"]:
        return executors(store, include_lost=True)
    if rest == ["environment"]:
        return environment(store)
    raise LookupError(f"no such resource: /api/v1/{path}")


def _number(text, what):
    try:
        return int(text)
    except ValueError:
        raise LookupError(f"not a {what} id: {text!r}") from None
