"""The batch's progress line: a bar, students done, elapsed and remaining time, students
with errors."""
import sys
import time


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int, stream=sys.stderr, width: int = 24):
        self.total, self.stream, self.width = total, stream, width
        self.done = self.errors = 0
        self.start = time.monotonic()
        self.live = stream.isatty()

    def line(self) -> str:
        filled = self.width * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self.start
        # The students so far are the best guess of the rest: they are alike on average.
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} students"
                f"  {clock(elapsed)} elapsed  {clock(left) if left is not None else '?:??'} left"
                f"  {self.errors} with errors")

    def advance(self, student: str, error: bool):
        self.done += 1
        self.errors += error
        if self.live:
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(f"{self.line()}  ({student})\n")
        self.stream.flush()

    def finish(self):
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
