"""How long one student takes to regrade, interpreter start to results, back to back.

The example class's full correct student, all seven assignments, with the tests prepared
ahead (`autograde prepare`): `autograde examples/submissions -s student001_correct --force`
with figures, as an instructor regrades one student, and `autograde grade-one` without
them, as Gradescope's run_autograder grades a submission. Each runs with -j 2 (the
student's assignments in two lanes, one per core) and -j 1 (one process), in turn, so
that the ratio of each pair is measured under the same load.

    python bench/regrade_bench.py --runs 7
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
AUTOGRADE = Path(sys.executable).parent / "autograde"
STUDENT = KIT / "examples" / "submissions" / "student001_correct"


def wall(command: list) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for figures in ([], ["--no-figures"]):
            subprocess.run([AUTOGRADE, "prepare", *figures], check=True, capture_output=True)
        commands = {
            "regrade, figures": [AUTOGRADE, STUDENT.parent, "--out", tmp / "out", "-s", STUDENT.name, "--force"],
            "grade-one (Gradescope)": [AUTOGRADE, "grade-one", STUDENT, tmp / "results.json"],
        }
        print(f"one full student, tests prepared ahead; wall seconds over {args.runs} runs "
              "(min / median / max), -j 2 then -j 1 in turn")
        for name, command in commands.items():
            wall(command)  # a warm-up: the page cache, the prepared file's first read
            lanes, whole = [], []
            for _ in range(args.runs):
                lanes.append(wall([*command, "-j", "2"]))
                whole.append(wall([*command, "-j", "1"]))
            ratios = [a / b for a, b in zip(lanes, whole)]
            for label, times in (("-j 2", lanes), ("-j 1", whole)):
                print(f"{name:24} {label}: {min(times):.2f} / {statistics.median(times):.2f} / {max(times):.2f} s")
            print(f"{name:24} -j 2 / -j 1: median ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
