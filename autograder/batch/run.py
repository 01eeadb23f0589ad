"""Grade a class: every submission through the sandbox, results written as each finishes.

find submissions -> prepare the tests once, or load them (runner.prepare, artifact.py), the
sandboxes' zygote starting meanwhile -> per student (or per lane of a student's
assignments, when processors would otherwise idle), in a trusted worker forked from this
warm process (pool.py) or on a Dask cluster's worker (cluster.py): unpack, find the modules,
load them in the sandbox, run the tests (and the figures, drawn from the same sandbox) ->
here, as each student finishes:
merge the grades into the student's state (state.py) and write their pages, grades.csv
rewritten with every student and assignment ever graded into OUT/ -> flags.csv, the class
dashboard (index.html) and the summary. A student whose grades are up to date is skipped
unless --force, so an interrupted run resumes with the same command.
"""
import contextlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import kit

from autograder.batch import artifact, pool, runner, secret, state

from autograder.outputs.dashboard import dashboard_html
from autograder.outputs.files import write_atomic
from autograder.outputs.flags import flag_lines, flags, flags_csv
from autograder.outputs.gradebook import grade_row, grades_csv, summary_lines
from autograder.outputs.pages import feedback_html, feedback_markdown
from autograder.outputs.results import results_json

from autograder.sandbox import budget
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Zygote, default_hidden_paths

from autograder.submissions import roster, students
from autograder.batch.progress import Progress

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
    roster: Path | None = None  # the LMS's roster: who the students are (submissions/roster.py)
    figures: bool = True  # run the assignments' figures on each student's code (grading/figures.py)
    prepared: Path | None = None  # the prepared tests' file (artifact.py); None: its default place
    scheduler: str | None = None  # a Dask scheduler's address: grade on its cluster (cluster.py)

    def prepared_file(self) -> Path:
        return self.prepared or artifact.default_path(self.assignments, self.figures)


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


class Batch:
    def __init__(self, out: Path, options: Options, keys: dict[str, str], secret: bytes):
        self.out, self.options, self.keys, self.secret = out, options, keys, secret
        self.work = out / ".work"
        self.prepared = self.zygote = None
        self.fingerprints: dict[str, str] = {}
        # The chosen assignments dealt into lanes (runner.lanes_of), and for each student
        # graded in more than one, the seconds each lane spent (budget.py).
        self.lanes: list[list[str]] = [options.assignments]
        self.spent: dict[str, object] = {}

    def fingerprint(self, submission) -> str:
        # Hashed once, in the parent: the workers forked later inherit the value.
        if submission.student not in self.fingerprints:
            self.fingerprints[submission.student] = students.fingerprint(submission)
        return self.fingerprints[submission.student]

    def up_to_date(self, submission, held: dict) -> bool:
        """Whether `held`, the student's state in OUT/, holds a grade of this very submission,
        under these tests, solutions, reference, engine, limits and secret, for every chosen
        assignment."""
        if state.stale(held, self.fingerprint(submission), self.keys):
            return False
        # Graded without figures (--no-figures), and figures wanted now: run again.
        return not self.options.figures or all(
            held["assignments"][a].get("figures") is not None for a in self.keys)

    def read(self, submission, assignments=None, lane: int = 0) -> tuple[dict, list[str]]:
        """The student's modules of `assignments` (all chosen ones when None), name -> (file
        name, source text) or a one-line problem, and the notes they give; nothing of theirs
        is run. Each `lane` grading the student at the same time unpacks into its own folder."""
        names = [kit.module_name(a) for a in assignments or self.options.assignments]
        unpacked = self.work / "unpacked" / str(lane)
        try:
            root = students.unpack(submission, unpacked)
            modules = students.student_modules(root, names)
        except students.SubmissionProblem as problem:
            return {name: str(problem) for name in names}, [str(problem)]
        finally:
            if submission.kind != "folder":  # a zip, or files of an LMS's download: read now
                shutil.rmtree(unpacked / submission.student, ignore_errors=True)
        return modules, [f"{name}: {value}" for name, value in modules.items() if isinstance(value, str)]

    def grade_one(self, task) -> dict:
        """In a trusted worker: read one student's modules of one lane (a submission and the
        lane's number in self.lanes) and grade them."""
        submission, lane = task
        assignments = self.lanes[lane]
        modules, notes = self.read(submission, assignments, lane)
        spent = self.spent.get(submission.student)
        return runner.grade_student(self.prepared, self.zygote, modules, notes, self.options.limits,
                                    self.work / "scratch" / submission.student / str(lane),
                                    self.options.figures, assignments,
                                    None if spent is None else (spent, lane))

    def done(self, submission, result: dict) -> dict:
        """Write what grading `submission` gave (runner.grade_student's result, or an
        error of the grader's) into OUT/; return the student's state."""
        if "error" in result:
            # Graded as far as it can be: not again on resume, figures or not.
            return self.finish(submission, [], [result["error"]],
                               figures=[] if self.options.figures else None)
        return self.finish(submission, result["verdicts"], result["notes"], result["digests"],
                           result["figures"])

    def finish(self, submission, verdicts: list[dict], notes: list[str], digests=None,
               figures: list[dict] | None = None) -> dict:
        """Merge this run's grades of the chosen assignments into the student's state, every
        other assignment kept as it was; write their files; return the state. `figures`:
        what the figures drew (None when they did not run)."""
        folder = self.out / submission.student
        held = state.load(folder)
        held.pop("refused", None)
        chosen = self.options.assignments
        for assignment in chosen:
            module = kit.module_name(assignment)
            # A note naming no chosen module (a zip refused) concerns them all.
            mine = [n for n in notes if module in n or not any(kit.module_name(a) in n for a in chosen)]
            held["assignments"][assignment] = {
                "key": f"{self.fingerprint(submission)}:{self.keys[assignment]}",
                "verdicts": [v for v in verdicts if v["assignment"] == assignment],
                "maximum": self.prepared.maxima.get(assignment, 0), "notes": mine,
                "module": (digests or {}).get(module),
                "figures": None if figures is None else [f for f in figures if f["assignment"] == assignment]}
        folder.mkdir(parents=True, exist_ok=True)
        write_pages(folder, submission.student, held, self.published())
        state.save(folder, held)
        return held

    def published(self) -> bool:
        return self.options.published or (self.out / PUBLISHED).exists()

    def graded(self) -> dict[str, dict]:
        """Every student OUT/ holds a grade of, this run's and earlier runs' alike."""
        return {path.parent.name: held for path in sorted(self.out.glob(f"*/{state.STATE}"))
                if (held := state.load(path.parent))["assignments"]}

    def write_grades(self, states: dict[str, dict]):
        rows = [row(student, held) for student, held in states.items()]
        columns = sorted({a for held in states.values() for a in held["assignments"]})
        write_atomic(self.out / "grades.csv", grades_csv(rows, columns))


def write_pages(folder: Path, student: str, held: dict, published: bool):
    """A student's results.json and feedback pages: every assignment graded into OUT/."""
    args = (student, *state.flat(held))
    write_atomic(folder / "results.json", json.dumps(results_json(*args, published=published), indent=1))
    for name, page in (("feedback.html", feedback_html), ("feedback.md", feedback_markdown)):
        write_atomic(folder / name, page(*args, published=published, figures=state.figures(held)))


def write_dashboard(out: Path, graded: dict[str, dict]):
    """OUT/index.html, the class dashboard, from every student graded into OUT/."""
    write_atomic(out / "index.html", dashboard_html({s: state.flat(held) for s, held in graded.items()}))


def publish(out: Path) -> int:
    """Rewrite every student's results.json and pages in `out` with what was hidden until
    now (private tests, held-out examples), and have later runs into `out` do the same;
    return how many students."""
    write_atomic(out / PUBLISHED, "the grades in this folder are published (autograde publish)\n")
    count = 0
    for path in sorted(out.glob(f"*/{state.STATE}")):
        held = state.load(path.parent)
        if held["assignments"]:
            write_pages(path.parent, path.parent.name, held, published=True)
            count += 1
    return count


def row(student: str, held: dict) -> dict:
    return grade_row(student, *state.flat(held))


def mark_refused(batch: Batch, skipped: list, graded: dict[str, dict]) -> list[str]:
    """A submission refused this run (two entries claiming one student) keeps its last
    grades (in `graded`, the states of OUT/), but its pages say at the top that they are not
    of the submission now in SUBMISSIONS/; return the students so marked."""
    marked = []
    for line in skipped:
        student = getattr(line, "student", None)
        folder = batch.out / str(student)
        held = graded.get(student)
        if held:
            held["refused"] = (f"not graded in the latest run ({line}); the grades below are "
                               "those of the last submission that was graded")
            write_pages(folder, student, held, batch.published())
            state.save(folder, held)
            marked.append(student)
    return marked


def inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def grade_class(submissions_dir: Path, out: Path, options: Options, echo=print) -> list[str]:
    """Grade the class; return the summary lines."""
    if inside(out, submissions_dir):
        raise BatchError(f"the output folder {out} is inside the submissions folder: choose "
                         "another with --out")
    # Students' files, and their code's scratch space, must never be unpickled.
    if any(inside(options.prepared_file(), folder) for folder in (submissions_dir, out)):
        raise BatchError(f"the prepared tests {options.prepared_file()} are inside the submissions "
                         "or output folder: keep them elsewhere (--prepared)")
    try:
        found, skipped = students.find_students(submissions_dir, options.roster)
    except students.ClassProblem as problem:
        raise BatchError(str(problem)) from None
    # OUT/ holding SUBMISSIONS/ (--out ..), a student named like a folder on the way would
    # have their results written among the submissions.
    clash = [s for s in found if inside(out / s.student, submissions_dir)]
    skipped += [f"{s.path.name}: its results would be written into the submissions folder; "
                "not graded (choose another --out)" for s in clash]
    found = [s for s in found if s not in clash]
    if not found:
        raise BatchError(f"no submissions in {submissions_dir}: it must hold one folder or .zip per "
                         "student" + (f" ({len(skipped)} entries skipped: {skipped[0]})" if skipped else ""))
    wanted = set(options.students)
    unknown = wanted - {s.student for s in found}
    if unknown:
        raise BatchError(f"no submission for student(s) {', '.join(sorted(unknown))} in {submissions_dir}")
    for line in skipped:
        echo(f"skipped: {line}")
    out.mkdir(parents=True, exist_ok=True)
    if any(s.person for s in found):  # who is who to the LMS, for `autograde export`
        write_atomic(out / "lms.csv", roster.people_csv(found))
    start = time.monotonic()
    try:
        key = secret.load(options.secret_file)
    except secret.SecretProblem as error:
        raise BatchError(str(error)) from None
    keys = state.assignment_keys(options.assignments, options.limits, key, runner.PRIVATE)
    batch = Batch(out, options, keys, key)
    # grades.csv lists every student graded into OUT/: those left out by --student, or by
    # --assignment, keep their last grades.
    # Read once: the states decide who is up to date, then grow with each student graded.
    graded = batch.graded()
    nothing = {"assignments": {}}
    todo = [s for s in found if (not wanted or s.student in wanted)
            and (options.force or not batch.up_to_date(s, graded.get(s.student, nothing)))]
    kept = sum(not wanted or s.student in wanted for s in found) - len(todo)
    if kept:
        echo(f"{kept} student(s) already graded with these submissions and tests: kept "
             "(--force grades them again)")
    marked = mark_refused(batch, skipped, graded)
    prepared_at = start
    if todo:
        prepared_at = grade_all(batch, todo, graded, submissions_dir, echo)
    batch.write_grades(graded)
    flagged = flags({student: state.flat(held)[0] for student, held in graded.items()},
                    {student: {kit.module_name(a): entry["module"] for a, entry in held["assignments"].items()
                               if entry.get("module")} for student, held in graded.items()})
    write_atomic(out / "flags.csv", flags_csv(flagged))
    write_dashboard(out, graded)
    end = time.monotonic()
    rate = f", {len(todo) / (end - prepared_at):.2f} students/s" if todo else ""
    columns = sorted({a for held in graded.values() for a in held["assignments"]})
    refused = [f"{len(marked)} student(s) keep their last grades, their submission refused this run: "
               + ", ".join(marked)] if marked else []
    return [*summary_lines([row(s, held) for s, held in graded.items()], columns),
            *refused, *roster.summary_lines(found), *flag_lines(flagged),
            f"graded {len(todo)} student(s) in {end - start:.1f} s ({prepared_at - start:.1f} s "
            f"preparing the tests{rate}); results in {out}"]


def prepare_tests(options: Options, echo=print) -> Path:
    """Prepare the tests of `options.assignments` into their file (artifact.py), or find it
    up to date there; return its path."""
    try:
        key = secret.load(options.secret_file)
        runner.prepare(options.assignments, jobs=options.jobs, secret=key, figures=options.figures,
                       saved=options.prepared_file(), echo=echo).close()
    except (secret.SecretProblem, runner.SolutionsFail) as error:
        raise BatchError(str(error)) from None
    return options.prepared_file()


def grade_all(batch: Batch, todo: list, graded: dict[str, dict], submissions_dir: Path, echo) -> float:
    """Grade `todo` into `graded` (student -> state), here or on a cluster, grades.csv
    rewritten as each student finishes; return when the tests were ready (time.monotonic)."""
    with contextlib.ExitStack() as closing:
        zygote = None
        if not batch.options.scheduler:
            # Started first, the sandboxes' zygote loads on another processor while torch
            # is imported here; grade_here waits for it.
            zygote = Zygote(hidden=default_hidden_paths(submissions_dir, batch.out))
            closing.callback(zygote.close)
        try:
            batch.prepared = runner.prepare(batch.options.assignments, jobs=batch.options.jobs,
                                            secret=batch.secret, figures=batch.options.figures,
                                            saved=batch.options.prepared_file(), echo=echo)
        except runner.SolutionsFail as error:
            raise BatchError(str(error)) from None
        closing.enter_context(batch.prepared)
        closing.callback(shutil.rmtree, batch.work, ignore_errors=True)
        prepared_at = time.monotonic()
        progress = Progress(len(todo))
        closing.callback(progress.finish)

        def done(submission, result):
            held = batch.done(submission, result)
            graded[submission.student] = held
            batch.write_grades(graded)
            progress.advance(submission.student, error=bool(state.flat(held)[1]))

        if zygote is None:
            grade_on_cluster(batch, todo, done, echo)
        else:
            grade_here(batch, todo, done, zygote, echo)
    return prepared_at


def grade_here(batch: Batch, todo: list, done, zygote: Zygote, echo):
    """Grade `todo` in workers forked from this process (pool.py), one per job, their
    sandboxes forked from `zygote` (entered here). With fewer students than jobs, the
    processors left would idle: each student's assignments are dealt into lanes, graded
    side by side, one time budget for them all."""
    batch.lanes = runner.lanes_of(batch.prepared, batch.options.assignments,
                                  max(1, batch.options.jobs // len(todo)))
    if len(batch.lanes) > 1:
        # Shared memory made before the workers fork, for them to inherit.
        batch.spent = {s.student: budget.shared(len(batch.lanes)) for s in todo}
        echo(f"{len(todo)} student(s) on {batch.options.jobs} processes: each graded in "
             f"{len(batch.lanes)} lanes side by side ({' | '.join(map(' '.join, batch.lanes))})")
    parts: dict[str, dict] = {}

    def lane_done(task, result):
        submission, lane = task
        parts.setdefault(submission.student, {})[lane] = result
        if len(parts[submission.student]) == len(batch.lanes):
            mine = parts.pop(submission.student)
            done(submission, runner.joined([mine[k] for k in range(len(batch.lanes))]))

    with zygote:
        batch.zygote = zygote
        if zygote.isolation_report():
            echo(zygote.isolation_report())
        tasks = [(submission, lane) for submission in todo for lane in range(len(batch.lanes))]
        pool.run(tasks, batch.grade_one, batch.options.jobs, lane_done)


def grade_on_cluster(batch: Batch, todo: list, done, echo):
    """Grade `todo` on the Dask cluster at `options.scheduler` (cluster.py): the students'
    modules are read here and sent; their results come back to `done`."""
    try:
        from autograder.batch import cluster
    except ImportError:
        raise BatchError("grading on a cluster (--scheduler) needs Dask: pip install -e \".[dask]\"") from None
    from autograder.batch.service import kit_fingerprint

    options = batch.options
    setup = {"contents": batch.prepared.contents, "assignments": options.assignments,
             "figures": options.figures, "limits": options.limits,
             "kit": kit_fingerprint(options.assignments, options.figures)}
    tasks = []
    for submission in todo:
        modules, notes = batch.read(submission)
        tasks.append((submission, {"student": submission.student, "modules": modules, "notes": notes}))
    try:
        cluster.grade(options.scheduler, setup, tasks, done, echo)
    except cluster.ClusterProblem as problem:
        raise BatchError(str(problem)) from None
