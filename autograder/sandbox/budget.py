"""What one student may cost the batch: a `Budget` of seconds for everything their code
causes, all their modules together.

A worker grades one student at a time (batch/pool.py), so whatever a student's run takes is
a worker kept from the next student. It is counted in two parts, each by the clock that
sees it fairly:
- the sandbox's part, in wall time: the worker waits on the student's code (importing,
  calls). A sleeping module uses no processor yet holds the worker, so only wall time sees
  it. The wait is the round trip less the worker's own processor time meanwhile, which the
  second part counts, and less the time the worker and the sandbox were ready to run but
  waited for a processor (Linux's schedstat run_delay), though never below the sandbox's
  own processor time: on a loaded machine each round trip waits for the processor twice,
  and an honest student's sandbox part grew up to sixfold (0.6 to 3.9 s).
- the grader's part, in the worker's processor time (time.process_time) since the
  student's run began: sending requests, decoding replies, tracking handles, and the tests'
  own work on the answers. A reply's cost to the grader is outside any call, and
  processor time does not grow when other processes share the machine.

The remote modules stop calling the student once it is spent (remote.py); the tests after
that fail at once. A student graded in lanes, processes side by side each grading some of
their assignments (batch/run.py), has one budget for all of them: each lane publishes what
it spent and when its current wait began in memory the lanes share (`shared`), and counts
the others' too, their waits under way included.
"""
import os
import time
from multiprocessing.sharedctypes import RawArray


def schedstat(file="/proc/thread-self/schedstat") -> tuple[float, float]:
    """Seconds a task has run, and has been ready to run but waiting for a processor, from
    its schedstat file (a path, or a file descriptor open on one); 0 where unknown."""
    try:
        if isinstance(file, int):
            fields = os.pread(file, 64, 0).split()
        else:
            with open(file, "rb") as f:
                fields = f.read().split()
        return int(fields[0]) / 1e9, int(fields[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


def shared(lanes: int):
    """The memory a student's `lanes` share, made before the processes that grade them
    fork: for each lane, the seconds it spent and when its wait under way began (0: none)."""
    return RawArray("d", 2 * lanes)


class Budget:
    """seconds: the budget. sandboxes() -> the (run time, run_delay) of the student's live
    sandboxes (schedstat), read when less than `exact_below` is left (below it, what is left
    sets a call's time limit). lanes: (`shared` memory of the student's lanes, this lane's
    number), or None for a student graded in one process; modules: the lane's, which its
    note names (each lane has its own). Made, used and closed in the thread that grades the
    student (its lane)."""

    def __init__(self, seconds: float, sandboxes=lambda: (0.0, 0.0), exact_below: float = 2.0,
                 lanes=None, modules=()):
        self.seconds, self.sandboxes, self.exact_below = seconds, sandboxes, exact_below
        memory, lane = lanes or ([0.0, 0.0], 0)
        # Two numbers a lane in the memory: its seconds spent, then when its wait under way
        # began (`shared`); this lane's are at `mine`.
        self.memory, self.mine, self.count = memory, 2 * lane, len(memory) // 2
        self.modules = list(modules)
        self.started = time.process_time()
        self.waited = 0.0  # wall seconds the worker waited on a sandbox, its own work excluded
        # What waiting for a processor added to `waited`: the worker's delays, counted around
        # each round trip (a read costs 1 us), and the sandboxes', which are ready to run only
        # during round trips. The worker and its sandbox share a processor, so each also
        # waits while the other runs: `waited` keeps at least the sandboxes' run time. At
        # most half the budget is forgiven, all lanes together: a student's background
        # processes could make their sandbox wait, and their own run time is not counted.
        self.worker_load, self.load = 0.0, 0.0
        try:
            self._schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._schedstat = None
        self.note = None  # the line in the student's notes, once the budget is used up

    def close(self):
        if self._schedstat is not None:
            os.close(self._schedstat)
            self._schedstat = None

    def grader(self) -> float:
        """The worker's processor time since the run began."""
        return time.process_time() - self.started

    def left(self) -> float:
        """Seconds left (asked before every call: a clock read, two for a lane)."""
        if self.note is not None:
            # Once used up, it stays used up: the processor waits taken off later must not
            # reopen it for the calls after the ones it already ended.
            return 0.0
        left = self.seconds - self.others() - self.used()
        if left < self.exact_below:
            self.take_off_load()
            left = self.seconds - self.others() - self.used()
        return left

    def used(self) -> float:
        """This lane's seconds so far, published to the others."""
        used = self.memory[self.mine] = self.waited - self.load + self.grader()
        return used

    def others(self) -> float:
        """The seconds the student's other lanes spent so far, their waits under way too."""
        if self.count == 1:
            return 0.0
        now, spent = time.monotonic(), 0.0
        for k in range(0, len(self.memory), 2):
            if k != self.mine:
                since = self.memory[k + 1]
                spent += self.memory[k] + (now - since if since else 0.0)
        return spent

    def take_off_load(self):
        """Take off `waited` what waiting for a processor added to it so far."""
        ran, delayed = self.sandboxes()
        load = min(self.worker_load + delayed, self.waited - ran, self.seconds / 2 / self.count)
        self.load = max(self.load, load)

    def waiting(self) -> "Budget":
        """`with budget.waiting():` around a wait for a sandbox (never nested): its wall time,
        less this process's processor time meanwhile (counted by grader()), is the
        sandbox's. It costs 6 us, most of it reading the clocks: a reply already received
        is taken without it."""
        return self

    def __enter__(self):
        fd = self._schedstat
        self._delay = schedstat(fd)[1] if fd is not None else 0.0
        self._wall, self._cpu = time.monotonic(), time.process_time()
        self.memory[self.mine + 1] = self._wall

    def __exit__(self, *exc):
        self.waited += max(0.0, time.monotonic() - self._wall - time.process_time() + self._cpu)
        if self._schedstat is not None:
            self.worker_load += schedstat(self._schedstat)[1] - self._delay
        self.memory[self.mine + 1] = 0.0
        self.used()

    def spent(self, notes: list) -> str:
        """The one line a student's notes get once the budget is used up, added to `notes`
        the first time: it is the same line for all the tests it ends."""
        if self.note is None:
            beside, tests = "", "every test"
            if self.count > 1:
                beside = f", {self.others():.1f} s grading their other assignments beside these"
                tests = f"every test of {', '.join(self.modules)}"
            self.note = (f"the time budget of {self.seconds:g} s per student is used up "
                         f"({self.waited - self.load:.1f} s of the student's code running, "
                         f"{self.grader():.1f} s of the grader's work on its answers{beside}): "
                         f"{tests} after that failed without running")
            notes.append(self.note)
        return self.note
