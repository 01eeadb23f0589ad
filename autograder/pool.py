"""Grade students in parallel, each in a child forked from the warm trusted process.

A fork inherits the imported tests, torch, the recorded examples and the oracle's memo, so
a student costs only their own test run. Each child reports one JSON document through a
pipe; a child that dies without reporting costs that student alone.
"""
import json
import os
import selectors
import signal
import traceback


def fork_one(task, work) -> tuple[int, int]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        status = 0
        try:
            result = work(task)
        except BaseException as error:
            result = {"error": f"the grader failed: {type(error).__name__}: {error}",
                      "traceback": traceback.format_exc()}
            status = 1
        with os.fdopen(write, "w") as out:
            json.dump(result, out)
        os._exit(status)
    os.close(write)
    return pid, read


def outcome(text: str, status: int) -> dict:
    try:
        return json.loads(text)
    except ValueError:
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit code {os.WEXITSTATUS(status)}")
        return {"error": f"the grading process died ({how}) before reporting"}


def run(tasks: list, work, jobs: int, on_done) -> None:
    """Call `work(task)` in a forked child for every task, `jobs` at a time, and
    `on_done(task, result)` in this process as each one finishes."""
    pending, running = list(tasks), {}
    with selectors.DefaultSelector() as selector:
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    task = pending.pop(0)
                    pid, read = fork_one(task, work)
                    running[read] = (task, pid, [])
                    selector.register(read, selectors.EVENT_READ)
                for key, _ in selector.select():
                    task, pid, chunks = running[key.fd]
                    chunk = os.read(key.fd, 1 << 16)
                    if chunk:
                        chunks.append(chunk)
                        continue
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    del running[key.fd]
                    _, status = os.waitpid(pid, 0)
                    on_done(task, outcome(b"".join(chunks).decode(), status))
        finally:
            for read, (_, pid, _) in running.items():
                os.kill(pid, signal.SIGKILL)
                os.close(read)
                os.waitpid(pid, 0)
