"""Grade students in parallel, in worker processes forked from the warm trusted process.

A fork inherits the imported tests, torch, the recorded examples and the oracle's memo.
Each worker then grades one student after another (up to TASKS_PER_WORKER): a fork per
student would make every student pay again for the pages a forked process copies as it
first writes them (about 16,000 page faults a student, a third of a second of a core on
these machines). Student code never runs in a worker (it runs in the sandbox), so nothing
of one student's run can reach the next one's; a task goes to a worker pickled, and so
does its report. A worker that dies costs the task it was on alone, and a new one takes its place.
runner.prepare deals the recording of the examples out to workers the same way.

Each worker stays on one processor, and the sandboxes it talks to run there too (they take
the caller's processors, sandbox/process.py): a worker and its sandbox take turns, and a
turn handed over on one processor wakes no other.
"""
import gc
import os
import pickle
import selectors
import signal
import struct
import traceback

LENGTH = struct.Struct("<Q")
# A worker grows by about 0.7 MB a student (pytest's and Hypothesis's own caches): replaced
# after this many, it costs one more fork every so often and stays small.
TASKS_PER_WORKER = 50


def frame(value) -> bytes:
    """`value` pickled, behind its length: what goes down a pipe, either way."""
    data = pickle.dumps(value)
    return LENGTH.pack(len(data)) + data


def send(stream, value):
    """Write `value` to a binary stream, framed."""
    stream.write(frame(value))
    stream.flush()


def receive(stream):
    """The next value `send` wrote to `stream`; None at its end."""
    header = stream.read(LENGTH.size)
    if len(header) < LENGTH.size:
        return None
    (n,) = LENGTH.unpack(header)
    data = stream.read(n)
    return pickle.loads(data) if len(data) == n else None


def serve(work, inbox: int, outbox: int):
    """A worker's loop: do each task that arrives on `inbox`, report on `outbox`."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    with os.fdopen(inbox, "rb") as requests, os.fdopen(outbox, "wb") as replies:
        while (task := receive(requests)) is not None:
            try:
                result = work(task)
            except Exception as error:
                result = {"error": f"the grader failed: {type(error).__name__}: {error}",
                          "traceback": traceback.format_exc()}
            send(replies, result)


class Worker:
    def __init__(self, work, others: list[int], cpu: int | None):
        """others: the pipes of the workers already running, which this one must not hold
        open (a worker exits when the last copy of its inbox's write end is closed).
        cpu: the processor this worker, and the sandboxes it talks to, run on (None: those
        of this process)."""
        inbox, self.requests = os.pipe()
        self.replies, outbox = os.pipe()
        self.cpu = cpu
        self.pid = os.fork()
        if self.pid == 0:
            for fd in [self.requests, self.replies, *others]:
                os.close(fd)
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
            try:
                serve(work, inbox, outbox)
            finally:
                os._exit(0)
        os.close(inbox)
        os.close(outbox)
        self.task = None
        self.done = 0
        self.received = b""
        self.ended = False

    def give(self, task):
        self.task = task
        message = memoryview(frame(task))
        try:
            while message:
                message = message[os.write(self.requests, message):]
        except BrokenPipeError:  # it died: its replies pipe is at its end, and the reader says so
            pass

    def wait(self) -> dict:
        """Block until the worker reports on its task, or dies: then `died`, and the worker
        is ended."""
        while True:
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                return died(self.end())
            result = self.report(chunk)
            if result is not None:
                self.done += 1
                return result

    def report(self, chunk: bytes) -> dict | None:
        """The report that `chunk` completes, if it completes one (a worker has one task at a
        time, so one chunk never holds the end of two)."""
        self.received += chunk
        if len(self.received) < LENGTH.size:
            return None
        (n,) = LENGTH.unpack_from(self.received)
        if len(self.received) < LENGTH.size + n:
            return None
        data, self.received = self.received[LENGTH.size:LENGTH.size + n], b""
        return pickle.loads(data)

    def end(self, kill: bool = False) -> int:
        """Close the worker's pipes (it exits when its inbox closes); its wait status."""
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(self.requests)
        os.close(self.replies)
        self.ended = True
        return os.waitpid(self.pid, 0)[1]


def died(status: int) -> dict:
    how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
           else f"exit code {os.WEXITSTATUS(status)}")
    return {"error": f"the grading process died ({how}) before reporting"}


def run(tasks: list, work, jobs: int, on_done) -> None:
    """Call `work(task)` for every task in `jobs` forked workers, and `on_done(task, result)`
    in this process as each one finishes."""
    pending = list(tasks)
    workers: dict[int, Worker] = {}
    cpus = sorted(os.sched_getaffinity(0))
    # What the workers inherit stays alive as long as they do: out of the garbage
    # collector's sight, it costs a worker neither a full collection's walk (a quarter of a
    # second each time) nor the copies of the pages such a walk would write to.
    gc.freeze()
    with selectors.DefaultSelector() as selector:

        def hire(cpu):
            others = [fd for w in workers.values() for fd in (w.requests, w.replies)]
            worker = Worker(work, others, cpu)
            workers[worker.replies] = worker
            selector.register(worker.replies, selectors.EVENT_READ)
            return worker

        def dismiss(worker, kill=False):
            selector.unregister(worker.replies)
            del workers[worker.replies]
            return worker.end(kill)

        try:
            for slot in range(min(jobs, len(tasks))):
                hire(cpus[slot % len(cpus)]).give(pending.pop(0))
            while workers:
                for key, _ in selector.select():
                    worker = workers[key.fd]
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:  # the worker died in the middle of its task
                        task = worker.task
                        status = dismiss(worker)
                        if pending:
                            hire(worker.cpu).give(pending.pop(0))
                        on_done(task, died(status))
                        continue
                    result = worker.report(chunk)
                    if result is None:
                        continue
                    task = worker.task
                    worker.done += 1
                    if worker.done >= TASKS_PER_WORKER or not pending:
                        dismiss(worker)
                        worker = hire(worker.cpu) if pending else None
                    if worker is not None:
                        worker.give(pending.pop(0))
                    on_done(task, result)
        finally:
            for worker in list(workers.values()):
                dismiss(worker, kill=True)
            gc.unfreeze()
