"""The shell and the seed's examples, run as real subprocesses."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def run(args, cwd, stdin=None, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env)


SESSION = "nums = sc.parallelize([1,2,3]) # make RDD from array\nnums.count()\nnums.map(lambda x: 2 * x).collect()\n"


@pytest.mark.parametrize("entry", [["-m", "fastrdd"], ["-c", "from fastrdd.shell import main; main()"]])
def test_seed_shell_session(tmp_path, entry):
    out = run([sys.executable, *entry, "--master", "local[2]", "--no-ipython"], tmp_path, SESSION)
    assert out.returncode == 0, out.stderr
    assert "SparkContext available as 'sc'" in out.stderr + out.stdout
    assert "3\n" in out.stdout and "[2, 4, 6]" in out.stdout


def test_shell_with_ipython(tmp_path):
    pytest.importorskip("IPython")
    out = run([sys.executable, "-m", "fastrdd", "--master", "local[1]"], tmp_path,
              "print(sc.parallelize(range(5)).sum())\nexit\n")
    assert out.returncode == 0, out.stderr
    assert "10" in out.stdout


def test_shell_runs_a_script(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("print('total', sc.range(10).sum())\n")
    out = run([sys.executable, "-m", "fastrdd", "--master", "local[1]", str(script)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "total 45" in out.stdout


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("examples")
    out = run([sys.executable, os.path.join(EXAMPLES, "gen_data.py"), "--dir", str(d), "--mb", "0.5",
               "--points", "2000"], d)
    assert out.returncode == 0, out.stderr
    return d


def test_wordcount_example(data_dir):
    out = run([sys.executable, os.path.join(EXAMPLES, "wordcount.py")], data_dir)
    assert out.returncode == 0, out.stderr
    with open(data_dir / "in.txt") as f:
        expected = {}
        for line in f:
            for w in line.split():
                expected[w] = expected.get(w, 0) + 1
    got = {}
    for name in os.listdir(data_dir / "out.txt"):
        if name.startswith("part-"):
            with open(data_dir / "out.txt" / name) as f:
                for line in f:
                    word, count = eval(line)
                    got[word] = count
    assert got == expected
    assert (data_dir / "out.txt" / "_SUCCESS").exists()


def test_logmining_example(data_dir):
    out = run([sys.executable, os.path.join(EXAMPLES, "logmining.py")], data_dir)
    assert out.returncode == 0, out.stderr
    with open(data_dir / "log.txt") as f:
        messages = [l.rstrip("\n").split("\t")[2] for l in f if l.startswith("ERROR")]
    assert out.stdout.split() == [str(sum("foo" in m for m in messages)),
                                  str(sum("bar" in m for m in messages))]


def test_logistic_regression_example(data_dir):
    out = run([sys.executable, "-W", "ignore", os.path.join(EXAMPLES, "logistic_regression.py")], data_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Final w: [")
