"""Readers of the event stream: the event log (JSON lines, replayed) and the console progress bar."""
import io
import json
import os
import subprocess
import sys
import time

from fastrdd.ui.eventlog import read_events, replay
from fastrdd.ui.progress import ConsoleProgress, wanted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_event_log_records_the_run_and_replays_into_a_status_tracker(fresh, tmp_path):
    logs = tmp_path / "events"
    sc = fresh("local[2]", spark_eventLog_enabled="true", spark_eventLog_dir=f"file:{logs}")
    sc.setJobGroup("logged", "a job to find in the log")
    counts = sc.parallelize(["a b", "b c"] * 50, 4).flatMap(str.split).map(
        lambda w: (w, 1)).reduceByKey(lambda a, b: a + b)
    assert sorted(counts.collect()) == [("a", 50), ("b", 100), ("c", 50)]
    live = sc.statusTracker()
    job = live.getJobIdsForGroup("logged")[-1]
    stages = live.getJobInfo(job).stageIds
    app_id = sc.applicationId
    assert (logs / f"{app_id}.jsonl.inprogress").exists()
    sc.stop()
    path = logs / f"{app_id}.jsonl"
    assert path.exists() and not (logs / f"{app_id}.jsonl.inprogress").exists()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["Event"] == "ApplicationStart" and lines[0]["app_id"] == app_id
    assert lines[-1]["Event"] == "ApplicationEnd"
    kinds = {line["Event"] for line in lines}
    assert {"WorkerAdded", "JobStart", "StageSubmitted", "TaskStart", "TaskEnd",
            "StageCompleted", "JobEnd"} <= kinds
    app, logged = read_events(path)
    assert app["master"] == "local[2]" and len(logged) == len(lines)
    tracker = replay(path)
    assert tracker.getJobIdsForGroup("logged") == [job]
    assert tracker.getJobInfo(job).stageIds == stages
    assert tracker.getJobInfo(job).status == "SUCCEEDED"
    assert [tracker.getStageInfo(s).numCompletedTasks for s in stages] == [4, 4]
    out = subprocess.run([sys.executable, "-m", "fastrdd.ui.eventlog", str(path)],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0 and f"job {job}: SUCCEEDED" in out.stdout
    assert "4/4 tasks done" in out.stdout


def test_a_log_still_being_written_can_be_read(tmp_path):
    path = tmp_path / "app.jsonl.inprogress"
    path.write_text('{"Event": "ApplicationStart", "app_id": "x"}\n'
                    '{"Event": "JobStart", "job_id": 0, "properties": {}, "time": 1.0}\n'
                    '{"Event": "JobEnd", "job_id": 0, "sta')
    app, logged = read_events(path)
    assert app["app_id"] == "x" and [type(e).__name__ for e in logged] == ["ApplicationStart", "JobStart"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_shown_on_a_terminal_and_not_in_ci():
    assert wanted({}, Terminal(), {})
    assert not wanted({}, Terminal(), {"CI": "true"})
    assert not wanted({}, io.StringIO(), {})
    assert wanted({"spark.ui.showConsoleProgress": "true"}, io.StringIO(), {"CI": "1"})
    assert not wanted({"spark.ui.showConsoleProgress": "false"}, Terminal(), {})


def test_progress_bar_counts_tasks_of_a_slow_stage(fresh):
    sc = fresh("local[2]")
    screen = Terminal()
    bar = ConsoleProgress(screen, delay=0.2)
    sc._scheduler.bus.add_listener(bar)
    try:
        assert sc.parallelize(range(6), 6).map(lambda x: (time.sleep(0.2), x)[1]).sum() == 15
        assert sc.parallelize(range(3), 3).count() == 3  # fast: never drawn
    finally:
        sc._scheduler.bus.remove_listener(bar)
        bar.close()
    text = screen.getvalue()
    assert "[Stage" in text and "/ 6]" in text
    assert "/ 3]" not in text
    assert not bar._bars  # every bar closed with its stage
