"""The limits a sandbox runs under, and the errors a call into one can end in.

Kept apart from the machinery that enforces them: the command line names limits, and a
test may catch these errors, without importing any of it.
"""
from dataclasses import dataclass

from autograder.submissions.discover import ModuleProblem

MiB = 2**20
GiB = 2**30


@dataclass(frozen=True)
class Limits:
    # A correct call takes milliseconds: the slowest of the known correct styles (03's
    # uniform written with Python loops) takes 32 ms. 2 s is generous to any style on a
    # loaded machine, and a function that timed out once is not run again.
    call_timeout: float = 2.0           # seconds of wall time per call
    # Starting a sandbox (a fork, namespaces, the import) takes 20-30 ms, but far longer on
    # a machine under load: a start gets its own, looser limit.
    start_timeout: float = 10.0         # seconds to start a sandbox and import the module
    # All of a student's modules together: their code's time in the sandbox and the
    # grader's processor time on their answers (budget.py). An honest student doing all
    # seven assignments in the slowest correct styles of tests/students used 0.7 to 1.4 s
    # (median of 10 gradings), 1.9 s at most with this 2-core machine's load at 7
    # (bench/student_cost.py). 5 s is 2.6 times the most, with room for the 2 s of one
    # endless loop besides; a student built to waste time then costs what 4 honest ones
    # do, not 70.
    student_budget: float = 5.0         # seconds per student
    memory: int = 2 * GiB               # of a sandbox's processes together (cgroup), and of each
    max_processes: int = 32             # processes (and threads) of one sandbox
    max_output: int = 64 * MiB          # bytes per reply, per file written, scratch size
    max_files: int = 64                 # open file descriptors


class StudentError(Exception):
    """Student code did something that is not a builtin exception: the message says what."""


class StudentTimeout(StudentError):
    """A call did not return in time, or the student's time budget is used up."""


class StudentCrash(StudentError):
    """The sandbox process ended during a call (exit, signal, memory limit...)."""


class MissingFunction(ModuleProblem, AttributeError):
    """The module has no such public function."""


class SandboxSetupError(RuntimeError):
    """The grader could not start a sandbox: a problem of the machine, not of the student."""
