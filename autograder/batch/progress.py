"""The batch's progress line: a bar, students done, elapsed time, students with errors."""
import sys
import time


class Progress:
    def __init__(self, total: int, stream=sys.stderr, width: int = 24):
        self.total, self.stream, self.width = total, stream, width
        self.done = self.errors = 0
        self.start = time.monotonic()
        self.live = stream.isatty()

    def line(self) -> str:
        filled = self.width * self.done // max(self.total, 1)
        elapsed = int(time.monotonic() - self.start)
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} students"
                f"  {elapsed // 60}:{elapsed % 60:02d} elapsed  {self.errors} with errors")

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
