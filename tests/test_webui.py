"""The live web UI over HTTP on loopback: pages, /api/v1, the lineage picture, replay, safety."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from fastrdd.scheduler import events
from fastrdd.ui import dagviz, store as ui_store
from fastrdd.ui.pages import format_bytes, format_duration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get(url, host=None):
    """(status, content type, body); error statuses are returned, not raised."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()


def api(sc, path=""):
    status, kind, body = get(f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}{path}")
    assert status == 200 and kind == "application/json"
    return json.loads(body)


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def word_count(sc):
    lines = sc.parallelize(["to be or not to be", "that is the question"] * 500, 4)
    counts = lines.flatMap(str.split).map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b, 3)
    return counts.cache()


def test_ui_binds_loopback_and_reports_jobs_stages_tasks_with_their_figures(fresh):
    sc = fresh("local[2]", app="webui", spark_ui_port="0")
    assert sc.uiWebUrl.startswith("http://127.0.0.1:")
    counts = word_count(sc)
    assert dict(counts.collect())["be"] == 1000
    jobs = api(sc, "/jobs")
    assert [j["status"] for j in jobs] == ["SUCCEEDED"]
    job = jobs[0]
    assert job["name"].startswith("collect at test_webui.py:")
    assert job["numTasks"] == 7 and job["numCompletedTasks"] == 7 and job["numCompletedStages"] == 2
    stages = {s["kind"]: s for s in api(sc, "/stages")}
    map_stage, result_stage = stages["map"], stages["result"]
    assert map_stage["numCompleteTasks"] == 4 and result_stage["numCompleteTasks"] == 3
    # records: 1000 lines in; after the map-side combine each of 4 tasks writes its 8 words
    assert map_stage["inputRecords"] == 1000 and map_stage["inputBytes"] > 0
    assert map_stage["shuffleWriteRecords"] == 4 * 8 and map_stage["shuffleWriteBytes"] > 0
    assert result_stage["shuffleReadRecords"] == 32
    assert result_stage["shuffleReadBytes"] == map_stage["shuffleWriteBytes"]
    detail = api(sc, f"/stages/{map_stage['stageId']}")[0]
    tasks = detail["tasks"].values()
    assert sorted(t["index"] for t in tasks) == [0, 1, 2, 3]
    assert sum(t["taskMetrics"]["inputRecords"] for t in tasks) == 1000
    assert all(t["status"] == "SUCCESS" and t["duration"] >= 0 for t in tasks)
    task_list = api(sc, f"/stages/{map_stage['stageId']}/0/taskList?length=2")
    assert len(task_list) == 2
    executors = api(sc, "/executors")
    assert len(executors) == 2 and sum(e["completedTasks"] for e in executors) == 7
    app = get(f"{sc.uiWebUrl}/api/v1/applications")[2]
    assert json.loads(app)[0]["id"] == sc.applicationId


def test_storage_page_and_api_follow_cache_and_unpersist(fresh):
    sc = fresh("local[2]", spark_ui_port="0")
    counts = word_count(sc).setName("word counts")
    counts.count()
    rdds = api(sc, "/storage/rdd")
    assert [(r["name"], r["numCachedPartitions"], r["numPartitions"]) for r in rdds] == [
        ("word counts", 3, 3)]
    assert rdds[0]["fractionCached"] == 1.0 and rdds[0]["memoryUsed"] > 0
    detail = api(sc, f"/storage/rdd/{counts.id()}")
    assert sum(d["blocks"] for d in detail["dataDistribution"]) == 3
    assert sorted(p["blockName"] for p in detail["partitions"]) == [
        f"rdd_{counts.id()}_{i}" for i in range(3)]
    html = get(f"{sc.uiWebUrl}/storage/")[2]
    assert "word counts" in html and "100%" in html
    counts.unpersist(blocking=True)
    assert api(sc, "/storage/rdd") == []
    status, _, body = get(
        f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/storage/rdd/{counts.id()}")
    assert status == 404 and "is not cached" in json.loads(body)["error"]


def test_job_page_draws_the_lineage_grouped_into_stages(fresh):
    sc = fresh("local[2]", spark_ui_port="0")
    counts = word_count(sc)
    counts.count()
    top = counts.sortBy(lambda kv: -kv[1])
    top.take(2)
    html = get(f"{sc.uiWebUrl}/jobs/job/?id=0")[2]
    assert '<svg class="dag"' in html and "reduceByKey at test_webui.py" in html
    assert html.count('class="stage"') == 2 and 'data-status="COMPLETE"' in html
    assert f'data-rdd-id="{counts.id()}" data-cached="True"' in html
    # a later job reading the cached shuffle: its map stage is drawn as skipped
    later = [j for j in api(sc, "/jobs") if j["name"].startswith("take")][0]
    html = get(f"{sc.uiWebUrl}/jobs/job/?id={later['jobId']}")[2]
    assert 'data-status="SKIPPED"' in html
    for page in ("/jobs/", "/stages/", "/storage/", "/executors/", "/environment/",
                 f"/stages/stage/?id={later['stageIds'][0]}"):
        status, kind, body = get(sc.uiWebUrl + page)
        assert status == 200 and kind.startswith("text/html") and "</html>" in body


def test_failed_tasks_show_their_error_on_the_stage_page(fresh):
    sc = fresh("local[2]", spark_ui_port="0")
    with pytest.raises(ZeroDivisionError):
        sc.parallelize(range(4), 2).map(lambda x: 1 // (x - 3)).collect()
    job = api(sc, "/jobs")[0]
    assert job["status"] == "FAILED" and "ZeroDivisionError" in job["errorMessage"]
    stage = api(sc, f"/stages/{job['stageIds'][0]}")[0]
    failed = [t for t in stage["tasks"].values() if t["status"] == "FAILED"]
    assert failed and "ZeroDivisionError" in failed[0]["errorMessage"]
    assert stage["status"] == "FAILED"
    html = get(f"{sc.uiWebUrl}/stages/stage/?id={job['stageIds'][0]}")[2]
    assert "ZeroDivisionError" in html


def test_figures_move_while_a_job_runs(fresh, tmp_path):
    sc = fresh("local[2]", spark_ui_port="0")
    gate = tmp_path / "go"

    def held(x):
        while not os.path.exists(str(gate)):
            time.sleep(0.01)
        return x

    done = []
    runner = threading.Thread(target=lambda: done.append(
        sc.parallelize(range(4), 4).map(held).sum()))
    runner.start()
    try:
        running = wait_for(lambda: [j for j in api(sc, "/jobs?status=running")
                                    if j["numActiveTasks"] == 2])
        assert running[0]["numCompletedTasks"] == 0
        html = get(f"{sc.uiWebUrl}/jobs/")[2]
        assert "Active Jobs (1)" in html and "data-live='true'" in html
    finally:
        gate.touch()
        runner.join(30)
    assert done == [6]
    assert wait_for(lambda: api(sc, "/jobs")[0]["status"] == "SUCCEEDED")


def test_requests_for_another_host_name_are_refused(fresh):
    sc = fresh("local[2]", spark_ui_port="0")
    assert get(f"{sc.uiWebUrl}/jobs/", host="evil.example")[0] == 403
    assert get(f"{sc.uiWebUrl}/jobs/", host="localhost")[0] == 200


def test_a_taken_port_moves_the_ui_to_the_next_one(fresh):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sc = fresh("local[2]", spark_ui_port=str(port))
        assert sc.uiWebUrl != f"http://127.0.0.1:{port}"
        assert get(f"{sc.uiWebUrl}/api/v1/version")[0] == 200


def test_ui_off_starts_no_server_and_secrets_are_redacted(fresh):
    sc = fresh("local[2]", spark_ui_enabled="false")
    assert sc.uiWebUrl is None
    sc = fresh("local[2]", spark_ui_port="0", spark_hadoop_fs_s3a_secret_key="hunter2")
    env = api(sc, "/environment")
    settings = dict(env["sparkProperties"])
    assert settings["spark.hadoop.fs.s3a.secret.key"] == "*********(redacted)"
    assert "hunter2" not in get(f"{sc.uiWebUrl}/environment/")[2]


def test_fastrdd_ui_serves_a_finished_run_from_its_event_log(fresh, tmp_path):
    logs = tmp_path / "events"
    sc = fresh("local[2]", spark_ui_port="0", spark_eventLog_enabled="true",
               spark_eventLog_dir=str(logs))
    word_count(sc).count()
    live_jobs = api(sc, "/jobs")
    live_stages = api(sc, "/stages")
    app_id = sc.applicationId
    sc.stop()
    log = logs / f"{app_id}.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "fastrdd", "ui", str(log), "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split()[0].rstrip("/")
        replayed = json.loads(get(f"{url}/api/v1/applications/{app_id}/jobs")[2])
        stages = json.loads(get(f"{url}/api/v1/applications/{app_id}/stages")[2])
        strip = ("duration",)
        assert [{k: v for k, v in j.items() if k not in strip} for j in replayed] == \
            [{k: v for k, v in j.items() if k not in strip} for j in live_jobs]
        assert [s["shuffleWriteBytes"] for s in stages] == \
            [s["shuffleWriteBytes"] for s in live_stages]
        html = get(f"{url}/jobs/job/?id=0")[2]
        assert '<svg class="dag"' in html and "data-live='false'" in html
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_a_log_still_being_written_is_followed(tmp_path):
    from fastrdd.ui.history import LogFollower

    path = tmp_path / "app.jsonl.inprogress"
    start = events.ApplicationStart("app-1", "n", "local", "u", "0", {}, 1.0)
    job = events.JobStart(0, "count at x.py:1", {}, {}, [], 2.0)
    with open(path, "w") as f:
        for e in (start, job):
            f.write(json.dumps({"Event": type(e).__name__, **e._asdict()}) + "\n")
        f.write('{"Event": "JobEnd", "job_id": 0, ')
    store = ui_store.AppStore()
    follower = LogFollower(str(path), store)
    assert follower.poll() == 2 and store.jobs[0].status == "RUNNING"
    with open(path, "a") as f:
        f.write('"status": "SUCCEEDED", "error": null, "time": 3.0}\n')
    os.replace(path, tmp_path / "app.jsonl")  # the application ended: its log is renamed
    assert follower.poll() == 1 and store.jobs[0].status == "SUCCEEDED"


def test_formatting_matches_sparks_ui():
    assert format_bytes(0) == "0.0 B" and format_bytes(1536) == "1.5 KiB"
    assert format_bytes(5 * 1024 ** 3) == "5.0 GiB"
    assert format_duration(12) == "12 ms" and format_duration(1500) == "1.5 s"
    assert format_duration(90000) == "1.5 min"


def test_the_lineage_picture_of_a_hand_made_graph():
    graph = {"stages": [{"key": 0, "rdds": [1, 2], "parents": [], "skipped": True},
                        {"key": None, "rdds": [3, 4], "parents": [0], "skipped": False}],
             "rdds": {str(i): {"kind": "RDD", "op": "op", "site": "a.py:1", "partitions": 2,
                               "storage": "x" if i == 4 else None} for i in range(1, 5)},
             "edges": [[0, 1, 0, 2], [0, 2, None, 3], [None, 3, None, 4]]}
    svg = dagviz.render_job_graph(graph, {None: (5, "ACTIVE")})
    assert svg.count('class="stage"') == 2 and svg.count('class="rdd"') == 4
    assert 'data-stage-id="5" data-status="ACTIVE"' in svg and 'data-status="SKIPPED"' in svg
    assert svg.count('class="edge shuffle"') == 1 and svg.count('class="edge narrow"') == 2
    assert 'data-rdd-id="4" data-cached="True"' in svg
    assert "<script" not in svg
    # names from user code are escaped, never markup
    graph["rdds"]["1"]["name"] = "<script>alert(1)</script>"
    assert "<script>" not in dagviz.render_job_graph(graph, {})
