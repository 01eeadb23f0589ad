"""Grade a class: every submission through the sandbox, results written as each finishes.

find submissions -> prepare the tests once (runner.prepare) -> per student, in a trusted
worker forked from this warm process (pool.py): unpack, find the modules, load them in the sandbox, run
the tests, write the student's results -> grades.csv rewritten after every student. A student
already graded with the same submission and the same tests is skipped unless --force, so an
interrupted run resumes with the same command.
"""
import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import kit

from autograder.batch import pool, runner, secret

from autograder.outputs.files import write_atomic
from autograder.outputs.flags import flag_lines, flags, flags_csv
from autograder.outputs.gradebook import grade_row, grades_csv, summary_lines
from autograder.outputs.pages import feedback_html, feedback_markdown
from autograder.outputs.results import results_json

from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Zygote, default_hidden_paths
from autograder.sandbox.source import SandboxSource

from autograder.submissions import students
from autograder.batch.progress import Progress

STATE = "state.json"
PUBLISHED = "published"  # in OUT/: the pages show everything (publish)


class BatchError(Exception):
    """The batch cannot run at all; the message is one line saying what to do."""


@dataclass
class Options:
    assignments: list[str]
    students: list[str] = field(default_factory=list)
    jobs: int = 2
    force: bool = False
    limits: Limits = field(default_factory=Limits)
    secret_file: Path = secret.SECRET  # the held-out examples' secret (batch/secret.py)
    published: bool = False  # write the pages as `publish` does (Gradescope publishes itself)


def choose_assignments(asked) -> list[str]:
    """The assignment folders named by `asked` (`01_activations` or `activations`), or all."""
    known = kit.assignment_names()
    chosen = []
    for name in asked:
        match = [a for a in known if name in (a, kit.module_name(a))]
        if not match:
            raise ValueError(f"no assignment {name!r}; choose from {', '.join(known)}")
        chosen += [a for a in match if a not in chosen]
    return chosen or known


def tests_key(files: list[Path], options: Options, key: bytes) -> str:
    """Changes when the tests, the limits or the secret `key` change, so that results are
    not reused then."""
    digest = hashlib.sha256(json.dumps(asdict(options.limits), sort_keys=True).encode() + key)
    for path in files:
        digest.update(str(path.relative_to(kit.ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class Batch:
    def __init__(self, out: Path, options: Options, key: str, secret: bytes):
        self.out, self.options, self.key, self.secret = out, options, key, secret
        self.work = out / ".work"
        self.prepared = self.zygote = None
        self.fingerprints: dict[str, str] = {}

    def state_of(self, submission) -> dict | None:
        """The stored result of an earlier run, if it graded this very submission."""
        try:
            state = json.loads((self.out / submission.student / STATE).read_text())
        except (OSError, ValueError):
            return None
        return state if state.get("fingerprint") == self.fingerprint(submission) else None

    def fingerprint(self, submission) -> str:
        # Hashed once, in the parent: the workers forked later inherit the value.
        if submission.student not in self.fingerprints:
            self.fingerprints[submission.student] = f"{students.fingerprint(submission)}:{self.key}"
        return self.fingerprints[submission.student]

    def grade_one(self, submission) -> dict:
        """In a trusted worker: grade one student, write their files, return the state."""
        names = [kit.module_name(a) for a in self.options.assignments]
        notes = []
        try:
            root = students.unpack(submission, self.work / "unpacked")
            modules = students.student_modules(root, names)
        except students.SubmissionProblem as problem:
            notes.append(str(problem))
            modules = {name: str(problem) for name in names}
        if not notes:
            notes = [f"{name}: {value}" for name, value in modules.items() if isinstance(value, str)]
        scratch = self.work / "scratch" / submission.student
        with SandboxSource(self.zygote, modules, self.options.limits, scratch) as source:
            verdicts = runner.grade(self.prepared, source)
            notes += source.stopped
        if submission.kind == "zip":
            shutil.rmtree(self.work / "unpacked" / submission.student, ignore_errors=True)
        digests = {name: hashlib.sha256(value[1].encode()).hexdigest()
                   for name, value in modules.items() if not isinstance(value, str)}
        return self.finish(submission, verdicts, notes, digests)

    def finish(self, submission, verdicts: list[dict], notes: list[str], digests=None) -> dict:
        state = {"fingerprint": self.fingerprint(submission), "verdicts": verdicts,
                 "notes": notes, "maxima": self.prepared.maxima, "modules": digests or {}}
        folder = self.out / submission.student
        folder.mkdir(parents=True, exist_ok=True)
        write_pages(folder, submission.student, state,
                    self.options.published or (self.out / PUBLISHED).exists())
        write_atomic(folder / STATE, json.dumps(state))
        return state

    def write_grades(self, rows: dict):
        write_atomic(self.out / "grades.csv", grades_csv(list(rows.values()), self.options.assignments))


def write_pages(folder: Path, student: str, state: dict, published: bool):
    """A student's results.json and feedback pages, from their state."""
    args = (student, state["verdicts"], state["notes"], state["maxima"])
    write_atomic(folder / "results.json", json.dumps(results_json(*args, published=published), indent=1))
    for name, page in (("feedback.html", feedback_html), ("feedback.md", feedback_markdown)):
        write_atomic(folder / name, page(*args, published=published))


def publish(out: Path) -> int:
    """Rewrite every student's results.json and pages in `out` with what was hidden until
    now (private tests, held-out examples), and have later runs into `out` do the same;
    return how many students."""
    write_atomic(out / PUBLISHED, "the grades in this folder are published (autograde publish)\n")
    count = 0
    for path in sorted(out.glob(f"*/{STATE}")):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        write_pages(path.parent, path.parent.name, state, published=True)
        count += 1
    return count


def row(submission, state: dict) -> dict:
    return grade_row(submission.student, state["verdicts"], state["notes"], state["maxima"])


def grade_class(submissions_dir: Path, out: Path, options: Options, echo=print) -> list[str]:
    """Grade the class; return the summary lines."""
    found, skipped = students.find_students(submissions_dir)
    wanted = set(options.students)
    unknown = wanted - {s.student for s in found}
    if unknown:
        raise BatchError(f"no submission for student(s) {', '.join(sorted(unknown))} in {submissions_dir}")
    for line in skipped:
        echo(f"skipped: {line}")
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        key = secret.load(options.secret_file)
    except secret.SecretProblem as error:
        raise BatchError(str(error)) from None
    batch = Batch(out, options, tests_key(runner.test_files(options.assignments), options, key), key)
    # grades.csv lists the whole class: students left out by --student keep their last grade.
    rows, todo = {}, []
    for submission in found:
        chosen = not wanted or submission.student in wanted
        state = None if options.force and chosen else batch.state_of(submission)
        if state:
            rows[submission.student] = row(submission, state)
        elif chosen:
            todo.append(submission)
    if rows:
        echo(f"{len(rows)} student(s) already graded with these submissions: kept "
             "(--force grades them again)")
    prepared_at = start
    if todo:
        prepared_at = grade_all(batch, todo, rows, submissions_dir, echo)
    batch.write_grades(rows)
    flagged = flags({s.student: state for s in found if (state := batch.state_of(s))})
    write_atomic(out / "flags.csv", flags_csv(flagged))
    end = time.monotonic()
    rate = f", {len(todo) / (end - prepared_at):.2f} students/s" if todo else ""
    return [*summary_lines(list(rows.values()), options.assignments), *flag_lines(flagged),
            f"graded {len(todo)} student(s) in {end - start:.1f} s ({prepared_at - start:.1f} s "
            f"preparing the tests{rate}); results in {out}"]


def grade_all(batch: Batch, todo: list, rows: dict, submissions_dir: Path, echo) -> float:
    """Grade `todo` into `rows`; return when the tests were ready (time.monotonic)."""
    echo(f"preparing the tests of {', '.join(batch.options.assignments)} ...")
    try:
        batch.prepared = runner.prepare(batch.options.assignments, jobs=batch.options.jobs,
                                        secret=batch.secret)
    except runner.SolutionsFail as error:
        raise BatchError(str(error)) from None
    hidden = default_hidden_paths(submissions_dir, batch.out)
    with batch.prepared, Zygote(hidden=hidden) as zygote:
        batch.zygote = zygote
        if zygote.isolation_report():
            echo(zygote.isolation_report())
        prepared_at = time.monotonic()
        progress = Progress(len(todo))

        def done(submission, state):
            if "error" in state:
                state = batch.finish(submission, [], [state["error"]])
            rows[submission.student] = row(submission, state)
            batch.write_grades(rows)
            progress.advance(submission.student, error=bool(state["notes"]))

        try:
            pool.run(todo, batch.grade_one, batch.options.jobs, done)
        finally:
            progress.finish()
            shutil.rmtree(batch.work, ignore_errors=True)
    return prepared_at
