"""The pytest plugin that judges: one verdict per graded test, with points and a hint.

It serves the student's own `pytest` run and the batch grader alike. A failing graded test
is reported in a few lines (function, property, what went wrong, a falsifying example, the
hint) instead of a traceback, and the run ends with a points table per assignment.
`--gradkit-results FILE` writes every verdict as JSON for the batch grader.
"""
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.internal.conjecture import providers

from autograder.submissions.discover import ModuleProblem
from autograder.submissions.loader import LocalSource

SOURCE = pytest.StashKey()
VERDICTS = pytest.StashKey()


class HeldOutFailure(AssertionError):
    """A property test passed every public example and failed a held-out one (replay.py);
    the failure itself is its __cause__."""

    def __init__(self, count: int):
        super().__init__(f"passes the public examples but fails on one of the {count} "
                         "held-out examples the grader keeps back")

# Derandomized, with no example database and no deadline: the same code always meets the
# same examples, nothing is written into the student's folder, and a slow machine cannot
# turn a correct answer into a failure. No shrinking: a failure reports the first failing
# example, which keeps a run of the stubs (every test failing) as fast as a passing run.
settings.register_profile(
    "gradkit",
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    print_blob=False,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
# Hypothesis (6.131 on) also draws numbers it finds in the source of whatever uninstalled
# modules are loaded: the kit's own, the solutions, a student's module. The examples must
# depend on the tests alone: the same for everyone, and not moved by an edit anywhere else
# in the kit (one such edit made the examples miss a known bug). No public setting turns
# it off; pyproject.toml bounds Hypothesis to the versions this was checked on.
if hasattr(providers, "_get_local_constants"):
    providers._get_local_constants = providers.Constants


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "graded(function, points, hint): a graded test")
    settings.load_profile("gradkit")
    # Even without a database Hypothesis caches what it learns from source files in
    # ./.hypothesis: keep that out of the student's folder.
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "gradkit-hypothesis")
    if SOURCE not in config.stash:
        config.stash[SOURCE] = LocalSource(config.getoption("student_dir", None))
    config.stash[VERDICTS] = []


def fill(text: str, item) -> str:
    """A parametrized test names its function through its parameters: graded("{name}", ...)."""
    for key, value in getattr(getattr(item, "callspec", None), "params", {}).items():
        text = text.replace("{" + key + "}", str(value))
    return text


def property_of(item) -> str:
    doc = (item.function.__doc__ or item.name).strip()
    return fill(" ".join(doc.split("\n\n")[0].split()), item)


def verdict_of(item, excinfo) -> dict:
    mark = item.get_closest_marker("graded")
    points = mark.kwargs["points"]
    counts_with = mark.kwargs.get("counts_with")
    verdict = {
        "assignment": item.path.parent.name,
        "function": fill(mark.kwargs["function"], item),
        "property": property_of(item),
        "max_points": points,
        "points": 0 if excinfo else points,
        "passed": excinfo is None,
        "message": explain(excinfo) if excinfo else "",
        "hint": fill(mark.kwargs["hint"], item),
        "nodeid": item.nodeid,
        "counts_with": fill(counts_with, item) if counts_with else None,
    }
    if excinfo and isinstance(excinfo.value, HeldOutFailure):
        # What broke it stays with the instructor until the grades are published: shown at
        # once, repeated submissions would hand the held-out examples out one by one.
        cause = pytest.ExceptionInfo.from_exception(excinfo.value.__cause__)
        verdict["withheld"] = {"message": explain(cause), "example": falsifying_example(cause.value)}
    elif excinfo:
        # A public example: the student's own run meets it too, and prints it.
        example = falsifying_example(excinfo.value)
        if example:
            verdict["example"] = example
        if isinstance(excinfo.value, ModuleProblem):
            verdict["module_problem"] = True  # no function, no module: the hint is beside the point
    return verdict


def settle(verdicts: list[dict]) -> list[dict]:
    """The points system's one rule beyond a test's own outcome: a test marked
    `counts_with=F` (a structural property: shape, inputs untouched, an error raised, or a
    fixed case a table could memorize) scores only when every value test of F in the same
    assignment passes, so that code implementing nothing earns nothing. A test that holds but
    waits for its function's values fails with `waits_for` naming that function. Idempotent."""
    failing = {(v["assignment"], v["function"]) for v in verdicts
               if not v.get("counts_with") and not v["passed"]}
    for v in verdicts:
        gate = v.get("counts_with")
        if gate and v["passed"] and (v["assignment"], gate) in failing:
            v.update(points=0, passed=False, waits_for=gate,
                     message=f"this property holds, but it counts only once {gate}'s value "
                             "tests pass, and one fails")
    return verdicts


def pytest_collection_modifyitems(items):
    # A graded failure is reported as its verdict, never as a traceback: pytest does not
    # even format one, which keeps failing runs as fast as passing ones.
    for item in items:
        if item.get_closest_marker("graded") is not None:
            item.repr_failure = lambda excinfo, item=item: render(
                verdict_of(item, excinfo), falsifying_example(excinfo.value))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if item.get_closest_marker("graded") is None or report.when == "teardown":
        return
    if report.when == "call" or report.failed:
        item.config.stash[VERDICTS].append(verdict_of(item, call.excinfo if report.failed else None))


def explain(excinfo) -> str:
    """One line saying what went wrong, in the student's terms."""
    error = excinfo.value
    if isinstance(error, HeldOutFailure):
        return str(error)
    if isinstance(error, NotImplementedError):
        return str(error) or "not implemented yet"
    if isinstance(error, ModuleProblem):
        return str(error)
    if isinstance(error, AssertionError):
        text = str(error).split("\nassert ")[0].strip()
        return " ".join(text.splitlines()[:3]) or "assertion failed"
    if isinstance(error, Warning):
        return f"{type(error).__name__}: {error} (no floating-point warning is allowed here)"
    return f"{type(error).__name__}: {error}{student_location(excinfo)}"


def student_location(excinfo) -> str:
    """Where in the student's file an exception was raised, when it was raised there."""
    where = ""
    for entry in excinfo.traceback:
        frame_globals = entry.frame.f_globals
        if frame_globals.get("__gradkit_student__"):
            where = f" ({Path(entry.path).name} line {entry.lineno + 1}, in {entry.name})"
    return where


def falsifying_example(error) -> str:
    """Hypothesis's falsifying example as one line, without the fixture arguments."""
    for note in getattr(error, "__notes__", []):
        if note.startswith(("Falsifying example:", "Failing test case:")):
            body = note.partition("(")[2].rstrip().removesuffix(")")
            args = [a.strip() for a in body.split(",\n") if a.strip()]
            args = [a for a in args if "=<" not in a.replace(" ", "")]
            line = ", ".join(" ".join(a.split()) for a in args)
            return line if len(line) <= 300 else line[:297] + "..."
    return ""


def render(verdict: dict, example: str = "") -> str:
    lines = [f"{verdict['function']}: {verdict['property']}  [0/{verdict['max_points']} points]",
             f"  {verdict['message']}"]
    if example:
        lines.append(f"  example: {example}")
    lines.append(f"  hint: {verdict['hint']}")
    return "\n".join(lines)


def points_table(verdicts: list[dict]) -> list[tuple[str, int, int, int]]:
    """(assignment, points, max points, failed tests) per assignment, in name order."""
    table = {}
    for v in verdicts:
        row = table.setdefault(v["assignment"], [0, 0, 0])
        row[0] += v["points"]
        row[1] += v["max_points"]
        row[2] += not v["passed"]
    return [(name, *row) for name, row in sorted(table.items())]


def pytest_terminal_summary(terminalreporter, config):
    verdicts = config.stash.get(VERDICTS, [])
    if not verdicts:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", "gradkit points")
    rows = points_table(verdicts)
    width = max(len(name) for name, *_ in rows) + 2
    for name, points, most, failed in rows:
        note = f"   {failed} test{'s' * (failed != 1)} failing" if failed else ""
        write(f"{name:<{width}}{points:>4} / {most:<4}{note}")
    write(f"{'total':<{width}}{sum(r[1] for r in rows):>4} / {sum(r[2] for r in rows):<4}")


def pytest_sessionfinish(session):
    # Before the terminal summary, which pytest prints after this hook.
    verdicts = settle(session.config.stash.get(VERDICTS, []))
    path = session.config.getoption("gradkit_results", None)
    if path is not None:
        path.write_text(json.dumps(verdicts, indent=1))
