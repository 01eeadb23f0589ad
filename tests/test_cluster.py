"""Grading on a real dask.distributed cluster: a scheduler and two `dask worker` processes on
localhost, started as an instructor starts them. The class graded through them gets the
grades and pages a local run gives, a worker killed mid-run costs nothing, and a worker
whose kit differs, or a scheduler nobody runs, is a one-line error.

Needs the `dask` extra; without it the tests are skipped, except in CI (CI set), where
they fail.
"""
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import kit
from autograder.batch import pool
from autograder.sandbox.limits import Limits

from conftest import autograde

EXAMPLE = kit.ROOT / "examples" / "submissions"
DASK = Path(sys.executable).parent / "dask"

try:
    from distributed import Client
except ImportError:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the cluster tests: the README's test command installs the dask extra")
    pytest.skip("the dask extra is not installed", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and `workers` workers of one thread each, as `dask` starts them."""

    def __init__(self, workers: int, logs: Path):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        port = self.address.rsplit(":", 1)[1]
        self.logs = logs
        self.scheduler = self.start("scheduler", "--host", "127.0.0.1", "--port", port)
        self.workers = [self.start("worker", self.address, "--nthreads", "1", "--no-nanny", name=f"worker{k}")
                        for k in range(workers)]
        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)

    def start(self, what: str, *args, name: str | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name or what}.log", "w")
        return subprocess.Popen([DASK, what, *args, "--no-dashboard"], stdout=log, stderr=log,
                                start_new_session=True)

    def close(self):
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def cluster(tmp_path):
    (tmp_path / "logs").mkdir()
    running = Cluster(2, tmp_path / "logs")
    yield running
    running.close()
    print(f"the cluster's logs: {tmp_path / 'logs'}")


@pytest.fixture(scope="module")
def graded_here(tmp_path_factory) -> Path:
    """The example class graded on this machine, as the README's first command does."""
    out = tmp_path_factory.mktemp("here") / "out"
    run = autograde(EXAMPLE, "--out", out, "-j", "2")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return out


def everything(out: Path) -> dict[str, str]:
    """grades.csv and every student's results.json and feedback page."""
    files = {"grades.csv": (out / "grades.csv").read_text()}
    for student in sorted(p.parent for p in out.glob("*/state.json")):
        for name in ("results.json", "feedback.html"):
            files[f"{student.name}/{name}"] = (student / name).read_text()
    return files


def test_the_class_graded_on_the_cluster_gets_what_a_local_run_gives(cluster, graded_here, tmp_path):
    out = tmp_path / "out"
    run = autograde(EXAMPLE, "--out", out, "--scheduler", cluster.address)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert f"grading on the Dask cluster at {cluster.address}: 2 worker(s), 2 thread(s)" in run.stdout
    assert "graded 8 student(s)" in run.stdout
    assert everything(out) == everything(graded_here)
    # Resumed as a local run is: nothing to do, and OUT/ as it was.
    again = autograde(EXAMPLE, "--out", out, "--scheduler", cluster.address)
    assert "graded 0 student(s)" in again.stdout and everything(out) == everything(graded_here)


def test_a_run_a_worker_refuses_leaves_no_grading_behind_on_the_workers(cluster):
    """A worker whose kit differs stops the run in one line; the run's plugin is then gone
    from every worker, and with it the grading services it started."""
    from autograder.batch import cluster as on_cluster

    setup = {"contents": {}, "assignments": ["01_activations"], "figures": False, "limits": Limits(),
             "kit": "another kit"}
    tasks = [(n, {"student": f"s{n}", "modules": {}, "notes": []}) for n in range(4)]
    with pytest.raises(on_cluster.ClusterProblem, match="cannot grade: its kit differs"):
        on_cluster.grade(cluster.address, setup, tasks, lambda *_: None, lambda _: None)
    with Client(cluster.address, timeout="30s") as client:
        left = client.run(lambda dask_worker: on_cluster.PLUGIN in dask_worker.plugins)
    assert len(left) == 2 and not any(left.values()), left
    services = subprocess.run(["pgrep", "-f", "autograder.batch.service"], capture_output=True, text=True)
    assert not services.stdout.split(), services.stdout


def test_a_worker_killed_mid_run_costs_nothing(cluster, graded_here, tmp_path):
    out = tmp_path / "out"
    run = subprocess.Popen([Path(sys.executable).parent / "autograde", EXAMPLE, "--out", out,
                            "--no-figures", "--scheduler", cluster.address],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while len(list(out.glob("*/state.json"))) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    graded_before = len(list(out.glob("*/state.json")))
    cluster.workers[0].kill()  # its grading service ends when its input does
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output[-3000:]
    assert graded_before < 8, "the run ended before the worker was killed"
    assert "graded 8 student(s)" in output
    assert (out / "grades.csv").read_text() == (graded_here / "grades.csv").read_text()
    with open(out / "grades.csv") as stream:
        assert len(list(csv.DictReader(stream))) == 8


def test_a_worker_whose_kit_differs_refuses_to_grade():
    service = subprocess.Popen([sys.executable, "-m", "autograder.batch.service"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pool.send(service.stdin, {"assignments": ["01_activations"], "figures": False, "kit": "another kit",
                              "contents": {}, "limits": None})
    answer = pool.receive(service.stdout)
    service.stdin.close()
    assert service.wait(timeout=60) == 0
    assert answer["refused"].startswith("its kit differs from the client's")


def test_a_scheduler_nobody_runs_is_a_one_line_error(tmp_path):
    shutil.copytree(EXAMPLE / "student001_correct", tmp_path / "class" / "alice")
    address = f"tcp://127.0.0.1:{free_port()}"
    run = autograde(tmp_path / "class", "-a", "01_activations", "--no-figures", "--scheduler", address)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith(f"Error: cannot reach the Dask scheduler at {address}: ")
