"""A grading service: a clean process that grades the students sent to it, one after another.

A cluster's worker (cluster.py) starts one with `python -m autograder.batch.service` and
talks to it over its standard input and output (pool.send / pool.receive, pickled: both
ends are the kit's own code). The first message sets it up: the prepared tests (what
runner.make made, sent by the client), the assignments, figures on or off, the limits, and
the fingerprint of the client's kit. The service checks that fingerprint against its own
kit (the tests and solutions it collects must be those the examples were recorded on),
opens the suite and a zygote, and answers "ready". Each message after that is one student,
{"student", "modules", "notes"}, answered with runner.grade_student's result.

The service is single-threaded, so the process it grades in is forked from a clean one,
not from a worker's threads, as in a local run (pool.py): one grading process at a time,
replaced after pool.TASKS_PER_WORKER students or when it dies (which costs the student it
was grading alone). The service ends when its input ends, whoever closed it.
"""
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.batch import artifact, pool, runner

from autograder.sandbox.process import Zygote, default_hidden_paths


def kit_fingerprint(assignments: list[str], figures: bool) -> str:
    """What this machine's kit would make the prepared tests from, the secret aside (the
    client keeps it: a worker needs the examples, never the secret)."""
    return artifact.fingerprint(assignments, b"", runner.PRIVATE, figures)


def main():
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever prints goes to the worker's log, never into the replies
    setup = pool.receive(requests)
    if setup is None:
        return
    mine = kit_fingerprint(setup["assignments"], setup["figures"])
    if mine != setup["kit"]:
        pool.send(replies, {"refused": "its kit differs from the client's (tests, solutions, "
                                       "reference, grader or the versions of Python, numpy, "
                                       "torch, hypothesis or pytest): install the same checkout there"})
        return
    work = Path(tempfile.mkdtemp(prefix="gradkit-service-"))
    try:
        with runner.prepare(setup["assignments"], figures=setup["figures"], contents=setup["contents"]) as prepared, \
                Zygote(hidden=default_hidden_paths(work)) as zygote:
            pool.send(replies, {"ready": True})

            def grade(task):
                return runner.grade_student(prepared, zygote, task["modules"], task["notes"], setup["limits"],
                                            work / "scratch" / task["student"], setup["figures"])

            worker = None
            while (task := pool.receive(requests)) is not None:
                if worker is None:
                    worker = pool.Worker(grade, [], cpu=None)
                worker.give(task)
                result = worker.wait()
                if worker.ended:  # it died
                    worker = None
                elif worker.done >= pool.TASKS_PER_WORKER:
                    worker.end()
                    worker = None
                pool.send(replies, result)
            if worker is not None:
                worker.end()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
