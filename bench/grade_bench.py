"""Benchmark: students graded per second by `autograde`, against a naive baseline.

Builds a class of N synthetic students (bench/make_class.py: correct, buggy and broken
ones), grades it with `autograde -j JOBS`, and grades a few of the same students the naive
way: one fresh `pytest` process per student (importing numpy, torch and Hypothesis, and
generating every example, each time), JOBS at a time.

    python bench/grade_bench.py --students 100 --baseline 6
    python bench/grade_bench.py --students 40 --only correct --baseline 0

On a shared machine the host's load moves every figure: compare runs made back to back
whose processor time and steal time (both printed) are about the same. Steal alone is not
enough: contention for the host's caches slows a run without showing up as steal.
"""
import argparse
import concurrent.futures
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT / "bench"))
from make_class import KINDS, make_class  # noqa: E402


def steal() -> float:
    """Seconds the hypervisor gave this machine's processors to others, so far (Linux)."""
    try:
        with open("/proc/stat") as f:
            return int(f.readline().split()[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def autograde(submissions: Path, out: Path, jobs: int) -> tuple[float, float, str]:
    """Wall time, processor time (the grader, its workers and every sandbox) and output."""
    start, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run([sys.executable, "-c", "from autograder.cli import main; main()",
                          str(submissions), "--out", str(out), "-j", str(jobs)],
                         capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    return time.perf_counter() - start, cpu, run.stdout


def naive(student: Path, scratch: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    str(KIT / "assignments"), "--student-dir", str(student)],
                   cwd=scratch, capture_output=True, text=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--baseline", type=int, default=6, help="students graded the naive way")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=sorted(set(KINDS)),
                        help="a class of this kind of student only (default: a mix, "
                             f"cycling through {', '.join(KINDS)})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", args.students, kinds=[args.only] if args.only else KINDS)
        stolen = steal()
        total, cpu, output = autograde(tmp / "class", tmp / "out", args.jobs)
        stolen = steal() - stolen
        rate = float(re.search(r"([\d.]+) students/s", output).group(1))
        print(output.strip().splitlines()[-1])
        print(f"autograde: {args.students} students in {total:.1f} s wall "
              f"({args.students / total:.2f} students/s overall, {rate:.2f} students/s "
              f"once the tests are prepared: {1 / rate:.2f} s of wall time per student); "
              f"{cpu:.0f} s of processor time in all, {cpu / args.students:.2f} s a student "
              f"with the preparing shared out")
        print(f"steal time meanwhile: {stolen:.1f} s")
        if not args.baseline:
            return
        # Broken students are left out of the baseline: an endless loop would hang plain pytest.
        folders = sorted(p for p in (tmp / "class").iterdir()
                         if p.is_dir() and "broken" not in p.name)[: args.baseline]
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda p: naive(p, tmp), folders))
        naive_rate = len(folders) / (time.perf_counter() - start)
        print(f"naive (one pytest process per student): {naive_rate:.3f} students/s "
              f"on {len(folders)} students")
        print(f"speed-up once prepared: {rate / naive_rate:.1f}x; overall: "
              f"{args.students / total / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
