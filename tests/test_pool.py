"""The worker pool: every task reported once, a dying worker costs its own task alone."""
import os

from autograder.batch import pool


def work(task):
    if task == "die":
        os._exit(3)
    if task == "fail":
        raise ValueError("boom")
    return {"task": task, "pid": os.getpid(), "cpus": sorted(os.sched_getaffinity(0))}


def run(tasks, jobs):
    done = []
    pool.run(tasks, work, jobs, lambda task, result: done.append((task, result)))
    return dict(done), done


def test_every_task_is_reported_once_by_workers_that_grade_one_after_another():
    tasks = [f"student{i}" for i in range(9)]
    results, done = run(tasks, jobs=2)
    assert len(done) == len(tasks) and set(results) == set(tasks)
    assert all(results[t]["task"] == t for t in tasks)
    assert len({r["pid"] for r in results.values()}) == 2
    assert os.getpid() not in {r["pid"] for r in results.values()}


def test_each_worker_stays_on_a_processor_of_its_own():
    processors = sorted(os.sched_getaffinity(0))
    results, _ = run([f"student{i}" for i in range(6)], jobs=len(processors))
    by_worker = {r["pid"]: r["cpus"] for r in results.values()}
    assert sorted(by_worker.values()) == [[cpu] for cpu in processors]


def test_a_worker_that_dies_costs_its_task_alone():
    tasks = ["a", "die", "b", "fail", "c", "d"]
    results, done = run(tasks, jobs=2)
    assert len(done) == len(tasks)
    assert results["die"] == {"error": "the grading process died (exit code 3) before reporting"}
    assert results["fail"]["error"] == "the grader failed: ValueError: boom"
    assert [results[t]["task"] for t in "abcd"] == list("abcd")


def test_more_workers_than_tasks_start_only_what_is_needed():
    results, _ = run(["only"], jobs=8)
    assert results["only"]["task"] == "only"
    results, done = run([], jobs=8)
    assert done == []


def test_a_worker_is_replaced_after_its_share_of_tasks(monkeypatch):
    monkeypatch.setattr(pool, "TASKS_PER_WORKER", 3)
    tasks = [f"student{i}" for i in range(8)]
    results, done = run(tasks, jobs=1)
    assert len(done) == 8 and all(results[t]["task"] == t for t in tasks)
    pids = [results[t]["pid"] for t in tasks]
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4] == pids[5] != pids[6]
