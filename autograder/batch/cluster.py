"""Grade on a dask.distributed cluster: `autograde SUBMISSIONS --scheduler tcp://HOST:8786`.

This process stays the grader of record: it finds the submissions, prepares the tests (or
loads them, artifact.py), reads each student's modules and writes OUT/ exactly as a local
run does, resume included. The cluster only grades:
- a worker plugin carries the prepared tests to every worker once, those joining later too;
- on each worker it starts grading services (service.py) as the worker's threads need them:
  clean processes that check the worker's kit against this one's, load the tests once and
  grade the students sent to them in the sandbox, one after another;
- each student is one task, their modules its argument, their verdicts its result, which
  streams back as it finishes.
A worker that dies takes its tasks with it and the scheduler gives them to another
(distributed.scheduler.allowed-failures times at most; then the student gets a one-line
error, as for a local grading process that dies). Only the result that arrives is written,
so no student is lost or written twice.

Needs the `dask` extra (`pip install -e ".[dask]"`), here and on every worker.
"""
import contextlib
import queue
import subprocess
import sys
import threading
import uuid

from distributed import Client, WorkerPlugin, as_completed, get_worker

from autograder.batch import pool

PLUGIN = "gradkit-grading"
WAIT_FOR_WORKERS = 60  # seconds for a first worker to join before the run gives up


class ClusterProblem(Exception):
    """The cluster cannot grade; the message is one line saying what to do."""


class Service:
    """One grading service (service.py) on a worker, and the pipes to it."""

    def __init__(self, setup: dict):
        self.process = subprocess.Popen([sys.executable, "-m", "autograder.batch.service"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        pool.send(self.process.stdin, setup)
        self.ready = False

    def grade(self, task: dict) -> dict:
        if not self.ready:
            answer = pool.receive(self.process.stdout)
            if answer is None or "refused" in answer:
                why = answer["refused"] if answer else "its grading service ended while starting"
                raise ClusterProblem(f"worker {get_worker().address} cannot grade: {why}")
            self.ready = True
        try:
            pool.send(self.process.stdin, task)
            result = pool.receive(self.process.stdout)
        except BrokenPipeError:
            result = None
        if result is None:
            self.close()
            code = self.process.returncode
            return {"error": f"the grading service died (exit status {code}) before reporting"}
        return result

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self):
        try:
            self.process.stdin.close()  # the service ends when its input ends
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Grading(WorkerPlugin):
    """On each worker: the grading services its threads use, one at a time each."""

    idempotent = False

    def __init__(self, setup: dict):
        self.prepared_setup = setup  # the prepared tests, assignments, figures, limits, kit

    def setup(self, worker):
        self.idle: queue.SimpleQueue[Service] = queue.SimpleQueue()
        self.services: list[Service] = []
        self.lock = threading.Lock()

    def teardown(self, worker):
        for service in self.services:
            service.close()

    def grade(self, task: dict) -> dict:
        try:
            service = self.idle.get_nowait()
        except queue.Empty:
            with self.lock:
                service = Service(self.prepared_setup)
                self.services.append(service)
        try:
            return service.grade(task)
        finally:
            if service.alive:
                self.idle.put(service)
            else:
                self.services.remove(service)


def grade_on_worker(task: dict) -> dict:
    """A task: one student graded by this worker's services."""
    return get_worker().plugins[PLUGIN].grade(task)


def connect(address: str) -> Client:
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterProblem(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
    except TimeoutError:
        client.close()
        raise ClusterProblem(f"no worker joined the scheduler at {address} in {WAIT_FOR_WORKERS} s: "
                             f"start some with `dask worker {address}`") from None
    return client


def grade(address: str, setup: dict, tasks: list, on_done, echo):
    """Grade `tasks` ((key, {"student", "modules", "notes"}) pairs) on the cluster at
    `address`, its services set up with `setup` (service.py); call `on_done(key, result)`
    here as each student finishes."""
    client = connect(address)
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        threads = sum(w.get("nthreads", 1) for w in workers.values())
        echo(f"grading on the Dask cluster at {address}: {len(workers)} worker(s), {threads} thread(s)")
        client.register_plugin(Grading(setup), name=PLUGIN)
        try:
            run = uuid.uuid4().hex[:8]
            futures = {client.submit(grade_on_worker, task, key=f"gradkit-{run}-{n}", pure=False): key
                       for n, (key, task) in enumerate(tasks)}
            with client.as_current():
                finished = as_completed(futures)
            for future in finished:
                try:
                    result = future.result()
                except ClusterProblem:
                    raise
                except Exception as error:  # KilledWorker among them: the student's grading failed
                    result = {"error": f"the cluster could not grade this student: {type(error).__name__}: {error}"}
                on_done(futures[future], result)
        finally:
            # However the run ends (a worker refusing, ^C), its services end with it; a
            # scheduler gone already has no plugin left to remove.
            with contextlib.suppress(OSError, TimeoutError):
                client.unregister_worker_plugin(PLUGIN)
    finally:
        client.close()

