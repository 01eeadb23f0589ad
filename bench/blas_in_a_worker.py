"""Benchmark: a small matrix product in a grading worker, before and after runner.one_thread.

A worker is forked from the warm process (torch imported) and pinned to one processor
(pool.py). Left to their defaults, OpenBLAS's threads then spin on that one processor; the
grader's own products (the tests' helpers, the oracle on a student's inputs) pay for it.

    python bench/blas_in_a_worker.py
"""
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch  # noqa: F401  the warm process has it; the spinning needs it loaded

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder.batch.runner import one_thread  # noqa: E402

REPEATS = 400


def product_in_a_pinned_child(label: str):
    rng = np.random.default_rng(0)
    # A layer's backward step in test_batchnorm.py: dout (batch 128, width 64) @ W.T.
    a, b = rng.standard_normal((128, 64)), rng.standard_normal((64, 64))
    pid = os.fork()
    if pid == 0:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        a @ b.T
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(REPEATS):
            a @ b.T
        print(f"{label}: {(time.perf_counter() - wall) / REPEATS * 1e6:.0f} us of wall time, "
              f"{(time.process_time() - cpu) / REPEATS * 1e6:.0f} us of a core per product")
        os._exit(0)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    product_in_a_pinned_child("default threads")
    one_thread()
    product_in_a_pinned_child("after one_thread()")
