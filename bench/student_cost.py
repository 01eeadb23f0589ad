"""What honest students cost against the time budget per student (sandbox/budget.py).

Grades every correct variant in tests/students/ as a student of its own, then a full
student made of the slowest correct variant of every assignment, as the batch does (in
workers forked from the prepared process, each on one processor), several times each, and
prints what each used of the budget: the wall time their code ran in the sandbox and the
grader's processor time on their answers. The budget (Limits.student_budget) is chosen
from the full student's figure.

    python bench/student_cost.py --repeat 5
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
from autograder import kit  # noqa: E402
from autograder.batch import pool, runner  # noqa: E402
from autograder.sandbox.limits import Limits  # noqa: E402
from autograder.sandbox.process import Zygote  # noqa: E402
from autograder.sandbox.source import SandboxSource  # noqa: E402
from autograder.submissions import students  # noqa: E402

VARIANTS = KIT / "tests" / "students"


def correct_variants() -> dict[str, list[Path]]:
    return {a: sorted((VARIANTS / a).glob("correct*")) for a in kit.assignment_names()}


def measure(prepared, zygote, folders: dict[str, Path], jobs: int, repeat: int) -> dict:
    """name -> its `repeat` gradings, each with the parts of the budget used, the wall time
    and the points."""
    names = [kit.module_name(a) for a in kit.assignment_names()]
    scratch = Path(tempfile.mkdtemp(prefix="gradkit-cost-"))

    def work(name):
        modules = students.student_modules(folders[name], names)
        modules = {k: v for k, v in modules.items() if not isinstance(v, str)}
        started = time.monotonic()
        with SandboxSource(zygote, modules, Limits(student_budget=1e6), scratch / name) as source:
            verdicts = runner.grade(prepared, source)
            budget = source.budget
            waited, grader = budget.waited, budget.grader()
            budget.take_off_load()
        mine = [v for v in verdicts if kit.module_name(v["assignment"]) in modules]
        return {"waited": waited, "load": budget.load, "grader": grader,
                "wall": time.monotonic() - started,
                "points": sum(v["points"] for v in mine), "max": sum(v["max_points"] for v in mine)}

    results: dict[str, list] = {}

    def done(name, result):
        if "error" in result:
            raise RuntimeError(f"{name}: {result['error']}")
        results.setdefault(name, []).append(result)

    try:
        pool.run([name for name in folders for _ in range(repeat)], work, jobs, done)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def used(r) -> float:
    return r["waited"] - r["load"] + r["grader"]


def show(name, runs):
    """The grading that used the median of the budget, and the one that used the most."""
    runs = sorted(runs, key=used)
    for what, r in (("median", runs[len(runs) // 2]), ("most", runs[-1])):
        print(f"{name:40s} {what:>6} {used(r):5.2f} s used = {r['waited']:5.2f} sandbox - "
              f"{r['load']:4.2f} load + {r['grader']:4.2f} grader (wall {r['wall']:5.2f} s)  "
              f"{r['points']}/{r['max']} points")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="gradings of each student")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    prepared = runner.prepare(kit.assignment_names(), jobs=args.jobs, secret=b"bench")
    with prepared, Zygote() as zygote, tempfile.TemporaryDirectory() as tmp:
        variants = {f"{v.parent.name}/{v.name}": v for vs in correct_variants().values() for v in vs}
        each = measure(prepared, zygote, variants, args.jobs, args.repeat)
        for name in sorted(each):
            show(name, each[name])
        full = Path(tmp) / "slowest"
        full.mkdir()
        for assignment, found in correct_variants().items():
            slowest = max(found, key=lambda v: sorted(
                map(used, each[f"{assignment}/{v.name}"]))[args.repeat // 2])
            module = f"{kit.module_name(assignment)}.py"
            shutil.copy(slowest / module, full / module)
        show("full student, slowest variant of each", measure(
            prepared, zygote, {"full": full}, args.jobs, args.repeat)["full"])


if __name__ == "__main__":
    main()
