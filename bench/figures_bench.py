"""Benchmark: what the figures on the feedback pages cost, in seconds per student.

By default, in one process: prepares the tests with figures once, then grades each
student of a synthetic class (bench/make_class.py) through the sandbox as a batch worker
does, timing apart the graded tests, the figures (the same sandbox, after the tests) and
the writing of the pages with and without the figures drawn; ROUNDS times, medians kept.
This separates the figures' own cost from a shared machine's noise, which moves two whole
runs far more than the figures do.

    python bench/figures_bench.py --students 12 --rounds 3

`--end-to-end` instead grades the class with `autograde` and with `autograde --no-figures`,
alternately, and prints each run's seconds per student once prepared, its time
preparing and its processor time per student (the grader, its workers, every sandbox).
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT / "bench"))
from make_class import make_class  # noqa: E402


def autograde(submissions: Path, out: Path, jobs: int, figures: bool) -> dict:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", "from autograder.cli import main; main()",
                          str(submissions), "--out", str(out), "-j", str(jobs),
                          *([] if figures else ["--no-figures"])],
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last = run.stdout.strip().splitlines()[-1]
    found = re.search(r"in ([\d.]+) s \(([\d.]+) s preparing the tests, ([\d.]+) students/s\)", last)
    return {"wall": wall, "preparing": float(found.group(2)), "per_student": 1 / float(found.group(3)),
            "cpu": after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime}


PREPARE = """
import sys, time
from autograder import kit
from autograder.batch import runner
start = time.perf_counter()
runner.prepare(kit.assignment_names(), jobs=1, secret=b"bench", figures=sys.argv[1] == "1").close()
print(time.perf_counter() - start)
"""


FIGURES_COLD = """
import time
from autograder import kit
from autograder.batch import runner
from autograder.submissions.loader import LocalSource
import reference.backprop, torch  # imported before the clock starts, as preparing has them
with runner.Suite([], runner.figure_files(kit.assignment_names())) as suite:
    start = time.perf_counter()
    suite.run(LocalSource(kit.SOLUTIONS))
    print(time.perf_counter() - start)
"""


def prepare_time(figures: bool) -> float:
    """Seconds `runner.prepare` takes in a fresh process (imports not counted)."""
    run = subprocess.run([sys.executable, "-c", PREPARE, "1" if figures else "0"],
                         capture_output=True, text=True, check=True)
    return float(run.stdout.strip().splitlines()[-1])


def in_process(class_dir: Path, rounds: int):
    """Per student and in all: the seconds the tests, the figures and the pages take."""
    import json

    from autograder import kit
    from autograder.batch import runner
    from autograder.grading.replay import Replayer
    from autograder.outputs.pages import feedback_html, feedback_markdown
    from autograder.sandbox.limits import Limits
    from autograder.sandbox.process import Zygote, default_hidden_paths
    from autograder.sandbox.source import SandboxSource
    from autograder.submissions import students

    assignments = kit.assignment_names()
    names = [kit.module_name(a) for a in assignments]
    preparing = {True: [], False: []}
    for _ in range(rounds):
        for figures in (True, False):
            preparing[figures].append(prepare_time(figures))
    print(f"preparing, each in a fresh process: {statistics.median(preparing[True]):.1f} s with figures "
          f"({', '.join(f'{t:.1f}' for t in preparing[True])}), {statistics.median(preparing[False]):.1f} s "
          f"without ({', '.join(f'{t:.1f}' for t in preparing[False])})")
    cold = [float(subprocess.run([sys.executable, "-c", FIGURES_COLD], capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]) for _ in range(rounds)]
    print(f"the figures on the solutions in a fresh process (the reference's curves computed, what "
          f"preparing pays for them, twice over): {statistics.median(cold):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in cold)})")
    prepared = runner.prepare(assignments, jobs=1, secret=b"bench", figures=True)
    items = prepared.suite.session.items
    tests = [i for i in items if not i.name.startswith("figure_")]
    figures = [i for i in items if i.name.startswith("figure_")]
    found, _ = students.find_students(class_dir)
    times = {"tests": [], "figures": [], "pages with figures": [], "pages without": []}
    with tempfile.TemporaryDirectory() as work, prepared, Zygote(hidden=default_hidden_paths(class_dir)) as zygote:
        for _ in range(rounds):
            spent = dict.fromkeys(times, 0.0)
            for submission in found:
                root = students.unpack(submission, Path(work) / "unpacked")
                modules = students.student_modules(root, names)
                with SandboxSource(zygote, modules, Limits(), Path(work) / "scratch") as source:
                    replayer = Replayer(prepared.examples, prepared.heldout, prepared.plans)
                    start = time.perf_counter()
                    verdicts = prepared.suite.run(source, replayer, items=tests)
                    spent["tests"] += time.perf_counter() - start
                    start = time.perf_counter()
                    prepared.suite.run(source, replayer, items=figures)
                    drawn = runner.drawn(prepared)
                    spent["figures"] += time.perf_counter() - start
                notes = list(source.stopped)
                maxima = dict(prepared.maxima)
                for key, shown in (("pages with figures", drawn), ("pages without", None)):
                    start = time.perf_counter()
                    for page in (feedback_html, feedback_markdown):
                        page(submission.student, verdicts, notes, maxima, figures=shown)
                    json.dumps(drawn)
                    spent[key] += time.perf_counter() - start
            for key, value in spent.items():
                times[key].append(value / len(found))
    for key, values in times.items():
        print(f"{key:>20}: {statistics.median(values):.3f} s per student (median of {rounds} rounds: "
              + ", ".join(f"{v:.3f}" for v in values) + ")")
    cost = statistics.median(times["figures"]) + statistics.median(times["pages with figures"]) \
        - statistics.median(times["pages without"])
    print(f"the figures cost {cost:.3f} s per student (running them and drawing them), against "
          f"{statistics.median(times['tests']):.3f} s for the tests; one core, one student at a time")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--end-to-end", action="store_true",
                        help="time whole `autograde` runs with and without --no-figures")
    args = parser.parse_args()
    if not args.end_to_end:
        with tempfile.TemporaryDirectory() as tmp:
            make_class(Path(tmp) / "class", args.students)
            in_process(Path(tmp) / "class", args.rounds)
        return
    results = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", args.students)
        for round_ in range(args.rounds):
            for figures in (True, False):
                out = tmp / f"out-{round_}-{figures}"
                result = autograde(tmp / "class", out, args.jobs, figures)
                results[figures].append(result)
                print(f"{'figures' if figures else 'no figures':>10}: "
                      f"{result['per_student']:.3f} s wall per student once prepared (-j {args.jobs}), "
                      f"{result['preparing']:.1f} s preparing, "
                      f"{result['cpu'] / args.students:.3f} s of processor time per student in all",
                      flush=True)
    medians = {f: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for f, runs in results.items()}
    on, off = medians[True], medians[False]
    print(f"median with figures: {on['per_student']:.3f} s/student wall, "
          f"{on['cpu'] / args.students:.3f} s/student processor, {on['preparing']:.1f} s preparing")
    print(f"median without:      {off['per_student']:.3f} s/student wall, "
          f"{off['cpu'] / args.students:.3f} s/student processor, {off['preparing']:.1f} s preparing")
    print(f"the figures cost {on['per_student'] - off['per_student']:+.3f} s of wall time per student "
          f"(-j {args.jobs}), {(on['cpu'] - off['cpu']) / args.students:+.3f} s of processor time per "
          f"student, and {on['preparing'] - off['preparing']:+.1f} s once, preparing")


if __name__ == "__main__":
    main()
