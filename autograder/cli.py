"""The `autograde` command line: it parses arguments and calls the engine, nothing more."""
import gc
import os
from pathlib import Path

import click

from autograder import kit
from autograder.sandbox.limits import Limits
from autograder.integrations.stubs import MarkerError, stub_files


class DefaultToGrade(click.Group):
    """`autograde SUBMISSIONS/ ...` is short for `autograde grade SUBMISSIONS/ ...`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["grade", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToGrade, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """gradkit's instructor tools.

    \b
    autograde SUBMISSIONS/          grade a class (short for `autograde grade ...`)
    autograde DOWNLOAD.zip          grade Canvas's or Moodle's download of submissions
    autograde COURSE/               grade an nbgrader course's submitted/ notebooks
    autograde export canvas ...     fill a column of Canvas's gradebook export from OUT/
    autograde export moodle ...     fill Moodle's grading worksheet from OUT/
    autograde stubs [--check]       regenerate the student stubs from solutions/
    autograde nbgrader COURSE/      write the assignments as an nbgrader course
    autograde prepare               prepare the tests ahead, for every run after it
    autograde gradescope OUT.zip    write the autograder to upload to Gradescope
    autograde grade-one DIR FILE    grade one student's folder into a results.json
    autograde publish OUT/          show students their hidden checks and held-out examples
    autograde secret [--rotate]     where the held-out examples' secret is; draw new ones
    """
    # At exit the interpreter's last collections walk every object torch and the prepared
    # tests made, 0.3 to 0.5 s of a one-student regrade: they are freed all the same.
    click.get_current_context().call_on_close(gc.freeze)


def existing_folder(**kwargs):
    return click.Path(exists=True, file_okay=False, path_type=Path, **kwargs)


def assignment_option(help_text: str):
    return click.option("-a", "--assignment", "assignments", multiple=True, metavar="NAME",
                        help=help_text)


def limit_options(command):
    """The sandbox's limits, for every command that grades."""
    for option in reversed([
            click.option("--call-timeout", type=click.FloatRange(0.1), default=Limits.call_timeout,
                         show_default=True, help="seconds one call of a student function may take (a function that "
                              "takes longer once is not run again)"),
            click.option("--student-budget", type=click.FloatRange(1),
                         default=Limits.student_budget, show_default=True,
                         help="seconds one student may cost, all modules together: their "
                              "code's wall time in the sandbox and the grader's processor "
                              "time on their answers; the tests after it ran out fail"),
            click.option("--memory", type=click.IntRange(256), default=Limits.memory // 2**20,
                         show_default=True, metavar="MIB",
                         help="memory limit of a student's module, in MiB: its processes "
                              "together where the grader can make a cgroup (as root), else each")]):
        command = option(command)
    return command


def secret_option(command):
    from autograder.batch.secret import SECRET

    return click.option("--secret", "secret_file", type=click.Path(dir_okay=False, path_type=Path),
                        default=SECRET, show_default=True, envvar="GRADKIT_SECRET",
                        help="the instructor's secret the held-out examples are drawn from, "
                             "made on first use; never give it to students "
                             "[env: GRADKIT_SECRET]")(command)


def prepared_option(command):
    return click.option("--prepared", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        metavar="FILE",
                        help="the prepared tests (examples, plans, the oracle's values): loaded "
                             "when made from these tests, solutions, grader and secret, made and "
                             "written here otherwise  [default: one file per choice of "
                             "assignments in the kit's private/prepared/, or in the folder "
                             "GRADKIT_PREPARED names]")(command)


def jobs_option(command):
    return click.option("-j", "--jobs", type=click.IntRange(1, 256), default=os.cpu_count() or 1,
                        show_default=True, help="processes working at once (fewer students than "
                        "processes: each student's assignments are graded side by side)")(command)


def no_figures_option(command):
    return click.option("--no-figures", "no_figures", is_flag=True,
                        help="skip the figures drawn from each student's code on their feedback "
                             "page (faster; the grades are the same)")(command)


def chosen_assignments(assignments) -> list[str]:
    from autograder.batch import run

    try:
        return run.choose_assignments(assignments)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--assignment")


def limits_of(call_timeout: float, student_budget: float, memory: int) -> Limits:
    return Limits(call_timeout=call_timeout, student_budget=student_budget,
                  memory=memory * 2**20)


@main.command()
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where results go  [default: SUBMISSIONS-graded/ beside SUBMISSIONS]")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="the LMS's roster (Canvas's gradebook export, Moodle's grading worksheet or "
                   "grades export, or a CSV with an id column): students are known by its ids, "
                   "and everyone on it who submitted nothing is graded 0")
@assignment_option("grade only this assignment (01_activations or activations); repeatable")
@click.option("-s", "--student", "students", multiple=True, metavar="ID",
              help="grade only this student (folder name, zip name without .zip, or the "
                   "roster's or LMS's id); repeatable")
@jobs_option
@click.option("--force", is_flag=True, help="grade again students whose results are up to date")
@no_figures_option
@limit_options
@secret_option
@prepared_option
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="grade on the workers of this Dask scheduler (tcp://HOST:8786) instead of "
                   "here; OUT/ is written here all the same. Needs pip install -e \".[dask]\" "
                   "here and on every worker, started with `dask worker ADDRESS`")
def grade(submissions, out, roster, assignments, students, jobs, force, no_figures, call_timeout,
          student_budget, memory, secret_file, prepared, scheduler):
    """Grade every submission in SUBMISSIONS/: one student per folder or .zip.

    Each student's modules (activations.py, ... or .ipynb, at any depth) run in an isolated
    process; the public tests and the instructor's private/ tests judge them, each property
    on the examples the student's own pytest meets and on held-out ones drawn from --secret.
    OUT receives grades.csv, flags.csv (held-out-only failures, identical modules),
    index.html (the class dashboard) and per student results.json (Gradescope's schema) and
    feedback.html, with figures drawn from their own code (--no-figures skips them); what
    the private tests and held-out examples reveal waits for `autograde publish OUT`.
    Students already graded with an unchanged submission are skipped, so an interrupted run
    resumes with the same command. Exit code 0 whenever grading completed.

    An nbgrader course folder (a submitted/ folder beside nbgrader_config.py or
    gradebook.db) is read as the class in its submitted/ folder: one student per
    submitted/<student>/, whose notebook <assignment>/<assignment>.ipynb is the module of
    that assignment; nbgrader's locked cells are left out.

    \b
    Canvas's "Download Submissions" zip and Moodle's "Download all submissions" zip are read
    as downloaded (or the folder either was unzipped to): one student per LMS user, known by
    the LMS's id, Canvas's LATE marker kept. OUT/lms.csv says who is who to the LMS, for
    `autograde export`.
    """
    from autograder.batch import run
    from autograder.submissions.lms import LABELS, detect
    from autograder.submissions.students import is_nbgrader_course

    chosen = chosen_assignments(assignments)
    submissions = submissions.resolve()  # `autograde .` too: its -graded folder is beside it
    stem = submissions.name[:-len(".zip")] if submissions.name.lower().endswith(".zip") else submissions.name
    out = out or submissions.with_name(stem + "-graded")
    if is_nbgrader_course(submissions):
        click.echo(f"{submissions} is an nbgrader course: grading the students in "
                   f"{submissions / 'submitted'}")
    elif lms := detect(submissions):
        unzipped = " (unzipped)" if submissions.is_dir() else ""
        click.echo(f"{submissions} is {LABELS[lms]}{unzipped}: one student per {lms.capitalize()} user")
    options = run.Options(assignments=chosen, students=list(students), jobs=jobs, force=force,
                          limits=limits_of(call_timeout, student_budget, memory),
                          secret_file=secret_file, roster=roster, figures=not no_figures,
                          prepared=prepared, scheduler=scheduler)
    try:
        summary = run.grade_class(submissions, out, options, echo=click.echo)
    except run.BatchError as error:
        raise click.ClickException(str(error))
    for line in summary:
        click.echo(line)


@main.command("grade-one")
@click.argument("folder", type=existing_folder())
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@assignment_option("grade only this assignment (01_activations or activations); repeatable")
@jobs_option
@limit_options
@secret_option
@prepared_option
def grade_one(folder, results, assignments, jobs, call_timeout, student_budget, memory, secret_file,
              prepared):
    """Grade the files in FOLDER as one student, as `autograde` grades a class, and write
    their results.json (Gradescope's schema) to RESULTS.

    This is what the Gradescope package's run_autograder runs on each submission. The
    results.json lists the private tests and the held-out examples that failed, marked
    for Gradescope to show only once the grades are published there.
    """
    from autograder.batch import run
    from autograder.integrations.gradescope import grade_submission

    # No figures: Gradescope shows results.json, never the feedback page they are drawn on.
    options = run.Options(assignments=chosen_assignments(assignments), jobs=jobs,
                          limits=limits_of(call_timeout, student_budget, memory),
                          secret_file=secret_file, published=True, figures=False, prepared=prepared)
    try:
        summary = grade_submission(folder, results, options, echo=click.echo)
    except run.BatchError as error:
        raise click.ClickException(str(error))
    for line in summary:
        click.echo(line)


@main.command()
@assignment_option("prepare only this assignment (01_activations or activations); repeatable")
@jobs_option
@no_figures_option
@secret_option
@prepared_option
def prepare(assignments, jobs, no_figures, secret_file, prepared):
    """Prepare the tests once, so that every `autograde` run after it (a one-student
    regrade too) pays only for its students.

    Preparing records the examples of every property test on the solutions (the public ones
    a student's pytest meets and the held-out ones drawn from --secret), plans the calls
    they make and computes the oracle's values. `autograde` does it on its own when the
    file is missing or stale, and writes it; this command does it ahead. The file is
    signed with the secret, so a file made or changed by anyone without it is never read.
    Prepare with --no-figures for runs with --no-figures (and for grade-one).
    """
    from autograder.batch import run

    options = run.Options(assignments=chosen_assignments(assignments), jobs=jobs,
                          secret_file=secret_file, figures=not no_figures, prepared=prepared)
    try:
        path = run.prepare_tests(options, echo=click.echo)
    except run.BatchError as error:
        raise click.ClickException(str(error))
    click.echo(f"the prepared tests are in {path}")


@main.command()
@click.argument("zip_path", metavar="OUT.zip", type=click.Path(dir_okay=False, path_type=Path))
@assignment_option("package only this assignment (01_activations or activations); repeatable")
@secret_option
def gradescope(zip_path, assignments, secret_file):
    """Write OUT.zip, the autograder to upload to Gradescope ("Zipped file", base image
    Ubuntu 22.04 or newer): setup.sh, run_autograder and the kit with the chosen
    assignments (all by default).

    Each submission is graded as one student by `autograde grade-one`, every packaged
    assignment, a module missing scoring 0; the score and the feedback per test go to
    Gradescope's results.json. The package holds the held-out examples' secret: keep
    it from students as you keep your private tests. It holds the tests prepared too, so
    a submission pays for its own grading alone; setup.sh makes them again, once, if the
    image's Python or libraries differ from this machine's.
    """
    from autograder.batch.run import BatchError
    from autograder.integrations.gradescope import write_package

    try:
        count = write_package(zip_path, chosen_assignments(assignments), secret_file, echo=click.echo)
    except BatchError as error:
        raise click.ClickException(str(error))
    except OSError as error:
        raise click.ClickException(f"cannot write {zip_path}: {error.strerror or error}")
    click.echo(f"wrote {zip_path} ({count} files): upload it to Gradescope as the autograder")


@main.group()
def export():
    """Put the grades of OUT/ (what `autograde` wrote) into a copy of an LMS's gradebook
    file, for the LMS to import: one column filled, every other cell as it was."""


def export_options(command):
    for option in reversed([
            assignment_option("count only this assignment's points (every assignment graded "
                              "into OUT/ by default); repeatable"),
            click.option("--late-penalty", metavar="N%/day", default=None,
                         help="take N% of the score per day late, by the LMS's own timestamps "
                              "(Moodle's worksheet) or its LATE marker (Canvas: one day); the raw "
                              "score goes in a column beside it. No penalty by default"),
            click.option("--out", "dest", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="the copy to write  [default: the export's name with -graded, beside it]"),
            click.argument("out", metavar="OUT/", type=existing_folder())]):
        command = option(command)
    return command


def run_export(write, *args):
    from autograder.integrations.lms_export import ExportProblem

    try:
        for line in write(*args):
            click.echo(line)
    except ExportProblem as error:
        raise click.ClickException(str(error))


@export.command("canvas")
@click.option("--gradebook", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the gradebook Canvas exported (Grades > Export > Export Entire Gradebook)")
@click.option("--column", required=True, metavar="TITLE",
              help='the assignment\'s column, as the export heads it: "Lab 3 (1234)"')
@export_options
def export_canvas(gradebook, column, assignments, late_penalty, dest, out):
    """Write a copy of Canvas's GRADEBOOK export with COLUMN filled from OUT/, each student
    found by their Canvas user id (the ID column); import it with Grades > Import."""
    from autograder.integrations import lms_export

    run_export(lms_export.export_canvas, out, gradebook, column, dest, late_penalty,
               chosen_assignments(assignments) if assignments else [])


@export.command("moodle")
@click.option("--worksheet", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the assignment's grading worksheet (View all submissions > Download grading worksheet)")
@export_options
def export_moodle(worksheet, assignments, late_penalty, dest, out):
    """Write a copy of Moodle's grading WORKSHEET with its Grade column filled from OUT/,
    each student found by the worksheet's Identifier ("Participant 123456"); upload it with
    "Upload grading worksheet"."""
    from autograder.integrations import lms_export

    run_export(lms_export.export_moodle, out, worksheet, dest, late_penalty,
               chosen_assignments(assignments) if assignments else [])


@main.command()
@click.argument("out", type=existing_folder())
def publish(out):
    """Publish the grades in OUT/ (what `autograde` wrote): rewrite every student's
    results.json and feedback pages with what they hid until now, the instructor's private
    tests one by one and the held-out examples that broke a test. Later runs into OUT/
    write the same. Before this, a student sees that hidden checks exist and their total,
    and that a held-out example failed, nothing that tells an input.
    """
    from autograder.batch import run

    count = run.publish(out)
    if not count:
        raise click.ClickException(f"no graded student in {out}: give the folder `autograde` wrote")
    click.echo(f"published {count} student(s) in {out}: their pages now show everything")


@main.command()
@secret_option
@click.option("--rotate", is_flag=True, help="draw a new secret: every held-out example changes, "
                                            "and the next run grades everyone again")
def secret(secret_file, rotate):
    """Say where the held-out examples' secret is (made on first use), or rotate it.

    Every property test is graded on the examples the student's own `pytest` run meets and
    on held-out ones drawn from this secret, which never ships to students: the same secret
    gives the same examples, so the same code always gets the same points.
    """
    from autograder.batch import secret as secrets

    try:
        (secrets.rotate if rotate else secrets.load)(secret_file)
    except secrets.SecretProblem as error:
        raise click.ClickException(str(error))
    click.echo(f"{'new ' if rotate else ''}held-out secret: {secret_file}")


@main.command("nbgrader")
@click.argument("course", type=click.Path(file_okay=False, path_type=Path))
@assignment_option("only this assignment (01_activations or activations); repeatable")
def nbgrader_course(course, assignments):
    """Write COURSE/source/<NN_name>/<NN_name>.ipynb per assignment, and
    COURSE/nbgrader_config.py when it is missing (it is never overwritten).

    Each notebook holds the handout, the solution cell (nbgrader strips its solution
    regions on release) and one autograded cell per kit test, worth that test's points.
    """
    from autograder.integrations.nbgrader import write_course
    from autograder.batch.runner import SolutionsFail

    try:
        files = write_course(course, chosen_assignments(assignments))
    except SolutionsFail as error:
        raise click.ClickException(str(error))
    for path, written in files.items():
        click.echo(f"{'wrote' if written else 'up to date, kept'}: {path}")
    first = next(p for p in files if p.suffix == ".ipynb").parent.name
    click.echo(f"next, from {course}: nbgrader generate_assignment {first} "
               "(the README's nbgrader section walks through the rest)")


@main.command()
@click.option("--solutions", type=existing_folder(), default=kit.SOLUTIONS, show_default=True,
              help="the instructor's solutions")
@click.option("--assignments", type=click.Path(file_okay=False, path_type=Path),
              default=kit.ASSIGNMENTS, show_default=True, help="where the stubs go")
@click.option("--check", is_flag=True,
              help="write nothing; exit 1 if a committed stub differs from its solution")
def stubs(solutions: Path, assignments: Path, check: bool):
    """Generate assignments/NN_name/<module>.py from solutions/ (solution regions removed)."""
    try:
        files = stub_files(solutions, assignments)
    except MarkerError as error:
        raise click.ClickException(str(error))
    stale = [path for path, text in files.items()
             if not path.exists() or path.read_text() != text]
    if check:
        for path in stale:
            click.echo(f"out of date: {path}")
        raise SystemExit(1 if stale else 0)
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        click.echo(f"wrote {path}")
    click.echo(f"{len(files)} stubs, {len(stale)} rewritten")
