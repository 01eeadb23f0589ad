"""Students per second on this machine and on a Dask cluster on localhost, back to back.

Builds a class (make_class.py), prepares its tests once, then grades it (--force, no
figures) locally with -j 2, and through a Dask scheduler with 1 and then 2 workers of one
thread each, started as `dask worker` starts them. Each figure is the summary's students/s,
once the tests are ready; the cluster's include starting its grading services.

    python bench/cluster_bench.py --students 40
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def autograde(*args) -> float:
    run = subprocess.run([BIN / "autograde", *map(str, args)], capture_output=True, text=True, check=True)
    return float(re.search(r"([\d.]+) students/s", run.stdout).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, KIT / "bench" / "make_class.py", tmp / "class",
                        "--students", str(args.students)], check=True, capture_output=True)
        common = [tmp / "class", "--out", tmp / "out", "--force", "--no-figures"]
        subprocess.run([BIN / "autograde", "prepare", "--no-figures"], check=True, capture_output=True)
        print(f"{args.students} students, no figures, tests prepared ahead")
        print(f"local -j 2:          {autograde(*common, '-j', '2'):.2f} students/s")
        address = "tcp://127.0.0.1:8799"
        scheduler = subprocess.Popen([BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "8799",
                                      "--no-dashboard"], stderr=subprocess.DEVNULL)
        workers = []
        try:
            for count in (1, 2):
                workers.append(subprocess.Popen([BIN / "dask", "worker", address, "--nthreads", "1",
                                                 "--no-nanny", "--no-dashboard"], stderr=subprocess.DEVNULL))
                time.sleep(5)
                rate = autograde(*common, "--scheduler", address)
                print(f"cluster, {count} worker(s): {rate:.2f} students/s")
        finally:
            for process in [*workers, scheduler]:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
