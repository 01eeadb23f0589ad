"""Figures from a student's own code: an experiment run through their functions, next to
the reference's, handed to the pages as plain data. Never graded.

An assignment's figures live in `assignments/NN_name/figures_<module>.py`, functions named
`figure_*` that take the student's module (the `student_module` fixture the tests use) and
the `figure` fixture below. The batch grader collects those files after the tests when
figures are on (batch/runner.py) and loads this module as a pytest plugin, so the calls
cross to the same sandbox, under the same limits, as the tests' calls. A student's own
`pytest` run never collects them.

A figure function fills its `Figure`: the reference's curve (`reference`), the kit's own
curve with no student code in it (`baseline`: the plain network, the unclipped run), and the
student's, inside `with figure.yours(group) as mine: ... mine.plot(x, y)`. Whatever the
student's code does inside that block (raises, times out, returns the wrong type) ends
that series with a one-line problem instead of ending the figure, and a figure function
that fails outright still keeps what it drew. What it keeps goes, as plain data (numbers,
short strings), into config.stash[FIGURES]; outputs/charts.py draws it.
"""
import math
from contextlib import contextmanager

import numpy as np
import pytest

from autograder.grading.plugin import explain
from autograder.submissions.loader import UnusableModule

FIGURES = pytest.StashKey()  # list[dict]: the figures the current run drew
DRAWN = pytest.StashKey()    # on an item: its Figure
PREFIX = "figure_"
MAX_POINTS = 400  # per series: a figure is a picture, not a data dump
MAX_NOTE = 200    # characters of one note


def number(value):
    """A finite float, or None (no value, shown as a gap): what a series holds."""
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def norm(value):
    """The L2 norm of an array the student's code returned: a float (inf or NaN when the
    array holds them), or None when it is not a numeric array."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    if array.dtype.kind != "f":
        return None
    with np.errstate(all="ignore"):
        return float(np.linalg.norm(array.ravel()))


def short(value, limit: int = 60) -> str:
    """A value the student's code returned, as a short line for a note."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Series:
    """One curve: `plot` sets its points."""

    def __init__(self, figure: "Figure", group: str, role: str, label: str):
        self.figure, self.group, self.role, self.label = figure, group, role, label
        self.x: list = []
        self.y: list = []
        self.nonfinite: list = []  # x where the value was NaN or infinite

    def plot(self, x, y):
        x, y = list(x)[:MAX_POINTS], list(y)[:MAX_POINTS]
        self.x = [number(v) for v in x]
        self.y, self.nonfinite = [], []
        for at, value in zip(self.x, y):
            finite = number(value)
            self.y.append(finite)
            if finite is None and value is not None:
                try:
                    if not math.isfinite(float(value)):
                        self.nonfinite.append(at)
                except (TypeError, ValueError, OverflowError):
                    pass
        return self

    def data(self) -> dict:
        return {"group": self.group, "role": self.role, "label": self.label,
                "x": self.x, "y": self.y, "nonfinite": self.nonfinite}


class Figure:
    """What a figure function draws. `order` says which way the experiment runs along x:
    "backward" for a backward pass (it starts at the last layer), so that the page says
    where the student's curve first leaves the reference's as the computation meets it."""

    def __init__(self, assignment: str, nodeid: str, title: str):
        self.assignment, self.nodeid, self.title = assignment, nodeid, title
        self.caption = ""
        self.x_label = self.y_label = ""
        self.log_y = False
        self.order = "forward"
        # Whether the student's curve should equal the reference's point by point: not for
        # a long training run, where rounding alone moves a correct one off after a while.
        self.compare = True
        self.series: list[Series] = []
        self.problems: list[dict] = []
        self.notes: list[dict] = []
        self.guides: list[dict] = []

    def axes(self, x_label: str, y_label: str, log_y: bool = False, order: str = "forward"):
        self.x_label, self.y_label, self.log_y, self.order = x_label, y_label, log_y, order

    def reference(self, group: str, x, y, label: str | None = None) -> Series:
        return self._add(group, "reference", label or f"reference {group}").plot(x, y)

    def baseline(self, group: str, x, y, label: str | None = None) -> Series:
        """The kit's own curve, no student code in it: the network without the cure."""
        return self._add(group, "baseline", label or group).plot(x, y)

    @contextmanager
    def yours(self, group: str, label: str | None = None):
        """The student's series of `group`; an exception inside the block becomes its
        problem (and ends the block), the figure goes on."""
        series = self._add(group, "yours", label or f"your {group}")
        with self.guard(group, series.label):
            yield series

    @contextmanager
    def guard(self, group: str | None = None, label: str | None = None):
        """An exception inside the block (the student's code raised, timed out, returned
        what the figure cannot use) becomes a problem of `group`, named after `label`."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - anything student code does is theirs
            self.problem(group, describe(error), label)

    def guide(self, y: float, label: str):
        """A dotted horizontal line at `y` (a bound the curves are measured against)."""
        self.guides.append({"y": float(y), "label": _line(label)})

    def problem(self, group: str | None, message: str, label: str | None = None):
        self.problems.append({"group": group, "label": label, "message": _line(message)})

    def note(self, text: str, ok: bool | None = None, group: str | None = None):
        """A sentence under the figure (ok: True, False or None for neutral)."""
        self.notes.append({"text": _line(text), "ok": ok, "group": group})

    def _add(self, group, role, label) -> Series:
        series = Series(self, group, role, label)
        self.series.append(series)
        return series

    def data(self) -> dict:
        return {"assignment": self.assignment, "nodeid": self.nodeid, "title": self.title,
                "caption": self.caption, "x_label": self.x_label, "y_label": self.y_label,
                "log_y": self.log_y, "order": self.order, "compare": self.compare,
                "series": [s.data() for s in self.series if s.x],
                "problems": self.problems, "notes": self.notes, "guides": self.guides}


def _line(text) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_NOTE else text[:MAX_NOTE - 1] + "…"


def describe(error: BaseException) -> str:
    """What went wrong in the student's code, as the tests' verdicts say it."""
    return explain(pytest.ExceptionInfo.from_exception(error))


def title_of(item) -> str:
    """The figure's title: the first paragraph of its function's docstring."""
    doc = (item.function.__doc__ or item.name).strip()
    return " ".join(doc.split("\n\n")[0].split())


# -- the plugin: loaded by the batch grader only when figures are on

def pytest_configure(config):
    config.stash[FIGURES] = []


@pytest.fixture
def figure(request) -> Figure:
    drawn = Figure(request.path.parent.name, request.node.nodeid, title_of(request.node))
    request.node.stash[DRAWN] = drawn
    return drawn


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if call.when == "teardown" or not item.name.startswith(PREFIX):
        return
    if call.when == "setup" and not report.failed:
        return
    # An item runs once per student: what it drew is taken now, never met again.
    drawn = item.stash.get(DRAWN, None)
    if drawn is not None:
        del item.stash[DRAWN]
    if any(isinstance(value, UnusableModule) for value in getattr(item, "funcargs", {}).values()):
        return  # no module to draw from: the page says why once, in its notes
    drawn = drawn or Figure(item.path.parent.name, item.nodeid, title_of(item))
    if report.failed:
        drawn.problem(None, describe(call.excinfo.value) if call.excinfo else "the figure failed")
    item.config.stash.setdefault(FIGURES, []).append(drawn.data())
