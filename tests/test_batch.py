"""The batch grader on real work: every known variant graded as one class, through the
sandbox, then graded again to check resume and determinism."""
import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import kit
from autograder.batch import state

from conftest import (STUDENTS, TRIVIAL_KINDS, expected_failures, lookup_tables, overwriting_inputs,
                      returning_none, trivial)

VARIANTS = sorted(p for p in STUDENTS.glob("*/*") if p.is_dir())


def autograde(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from autograder.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=1800)


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# Students made from the kit itself, each doing every assignment (conftest.py).
GENERATED = {"generated__overwrites_inputs": overwriting_inputs, "generated__returns_none": returning_none,
             **{f"generated__trivial_{kind}": trivial(kind) for kind in TRIVIAL_KINDS}}


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Every variant as a student `<assignment>__<variant>`, and the GENERATED students,
    graded by `autograde`."""
    root = tmp_path_factory.mktemp("class")
    submissions, out = root / "submissions", root / "out"
    for variant in VARIANTS:
        shutil.copytree(variant, submissions / f"{variant.parent.name}__{variant.name}")
    for student, make in GENERATED.items():
        (submissions / student).mkdir()
        for assignment in kit.assignment_names():
            (submissions / student / f"{kit.module_name(assignment)}.py").write_text(make(assignment))
    shutil.copytree(VARIANTS[0], submissions / "generated__copycat")
    (submissions / "generated__lookup_table").mkdir()
    for assignment, source in lookup_tables(tmp_path_factory.mktemp("table")).items():
        (submissions / "generated__lookup_table" / f"{kit.module_name(assignment)}.py").write_text(source)
    before = tree_digest(submissions)
    run = autograde(submissions, "--out", out, "-j", "2")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert tree_digest(submissions) == before, "grading changed the submissions folder"
    return submissions, out, run.stdout


def verdicts_of(out: Path, student: str) -> list[dict]:
    return state.flat(state.load(out / student))[0]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_variant_is_graded_as_expected(graded_class, variant):
    """Correct implementations in any style get full marks; each known-bad one loses points
    on a test that names the function it breaks."""
    _, out, _ = graded_class
    assignment = variant.parent.name
    mine = [v for v in verdicts_of(out, f"{assignment}__{variant.name}") if v["assignment"] == assignment]
    assert mine, "no verdict for the variant's own assignment"
    lost = {name.strip() for v in mine if not v["passed"] for name in v["function"].split(",")}
    if variant.name.startswith("correct"):
        assert not lost, [f"{v['function']}: {v['message']}" for v in mine if not v["passed"]]
    else:
        expected = expected_failures(variant / f"{kit.module_name(assignment)}.py")
        assert expected, f"{variant} has no '# expect-fail: function' line"
        assert expected <= lost, f"expected to lose points on {expected}, lost on {lost}"


def test_overwriting_the_inputs_loses_only_the_tests_that_check_them(graded_class):
    """The solutions, made to overwrite every array they were given once they have their
    answer, fail exactly the tests whose property says the inputs are left untouched (the
    tests counting with those hold, but wait for them): no other test reads its arguments
    after the call, so overwriting them cannot turn a wrong answer into an expected one."""
    _, out, _ = graded_class
    verdicts = verdicts_of(out, "generated__overwrites_inputs")
    assert {v["assignment"] for v in verdicts} == set(kit.assignment_names())
    wrongly = [f"{v['nodeid']}: {v['message']}" for v in verdicts
               if (v["passed"] or "waits_for" in v) == ("untouched" in v["property"])]
    assert not wrongly, "\n".join(wrongly)


def test_functions_that_return_nothing_score_zero(graded_class):
    _, out, _ = graded_class
    verdicts = verdicts_of(out, "generated__returns_none")
    assert len(verdicts) > 100 and not [v["nodeid"] for v in verdicts if v["passed"]]


@pytest.mark.parametrize("kind", TRIVIAL_KINDS)
def test_code_that_implements_nothing_scores_zero(graded_class, kind):
    """Zeros or NaN of the right shape, the input or a copy of it, None, or an error raised
    on every call: not one point, in any assignment."""
    _, out, _ = graded_class
    earned = [f"{v['nodeid']}: {v['points']}" for v in verdicts_of(out, f"generated__trivial_{kind}")
              if v["points"]]
    assert not earned, "\n".join(earned)


def test_a_table_of_memorized_answers_scores_at_most_a_tenth(graded_class):
    """A module answering every call of the public tests from a friend's logged answers,
    and nothing else, fails on the held-out examples: at most 10 % of any assignment,
    where it passes nearly everything in the student's own run."""
    _, out, _ = graded_class
    verdicts = verdicts_of(out, "generated__lookup_table")
    for assignment in kit.assignment_names():
        mine = [v for v in verdicts if v["assignment"] == assignment]
        points, most = sum(v["points"] for v in mine), sum(v["max_points"] for v in mine)
        assert most and points <= 0.1 * most, (assignment, points, most,
                                               [v["nodeid"] for v in mine if v["points"]])


def test_flags_name_held_out_only_failures_and_identical_modules(graded_class):
    """flags.csv, beside grades.csv, lists the table student (public examples pass, held-out
    ones fail) and the two students with the same module; the gradebook does not."""
    _, out, stdout = graded_class
    with open(out / "flags.csv") as stream:
        rows = list(csv.DictReader(stream))
    flagged = {(row["student"], row["flag"]) for row in rows}
    assert ("generated__lookup_table", "passes public examples, fails held-out ones") in flagged
    copycat = f"{VARIANTS[0].parent.name}__{VARIANTS[0].name}"
    assert {("generated__copycat", "identical module"), (copycat, "identical module")} <= flagged
    assert "flag" not in (out / "grades.csv").read_text() and "see flags.csv" in stdout


def test_publishing_shows_what_was_hidden_and_nothing_before(graded_class, tmp_path):
    """Before `autograde publish` a student's page says a held-out example failed without
    showing it; after, the page and results.json show the example, and so do later runs."""
    _, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    page = copy / "generated__lookup_table" / "feedback.html"
    assert "held-out example:" not in page.read_text() and "fails on one of the" in page.read_text()
    run = autograde("publish", copy)
    assert run.returncode == 0 and "published" in run.stdout, run.stdout + run.stderr
    assert "held-out example:" in page.read_text()
    results = json.loads((copy / "generated__lookup_table" / "results.json").read_text())
    assert any(t["name"].endswith("(held-out example)") for t in results["tests"])
    assert (copy / "published").exists()
    (tmp_path / "empty").mkdir()
    nothing = autograde("publish", tmp_path / "empty")
    assert nothing.returncode == 1 and "no graded student" in nothing.stderr


def test_outputs_follow_the_contract(graded_class):
    submissions, out, _ = graded_class
    students = sorted(p.name for p in submissions.iterdir())
    lines = (out / "grades.csv").read_text().splitlines()
    assert lines[0].split(",") == ["student", *kit.assignment_names(), "total", "max_total"]
    assert sorted(line.split(",")[0] for line in lines[1:]) == students
    results = json.loads((out / students[0] / "results.json").read_text())
    assert results["score"] == sum(t["score"] for t in results["tests"])
    assert all({"name", "score", "max_score", "status", "output"} <= set(t) for t in results["tests"])
    assert (out / students[0] / "feedback.html").read_text().startswith("<!DOCTYPE html>")
    assert students[0] in (out / students[0] / "feedback.md").read_text().replace("\\", "")
    assert not (out / ".work").exists()


def test_rerun_resumes_and_regrading_gives_identical_scores(graded_class):
    submissions, out, _ = graded_class
    grades = (out / "grades.csv").read_text()
    again = autograde(submissions, "--out", out)
    assert again.returncode == 0 and "graded 0 student(s)" in again.stdout, again.stdout
    assert (out / "grades.csv").read_text() == grades
    student = sorted(p.name for p in submissions.iterdir())[0]
    before = verdicts_of(out, student)
    forced = autograde(submissions, "--out", out, "--force", "-s", student)
    assert forced.returncode == 0 and "graded 1 student(s)" in forced.stdout, forced.stdout
    assert verdicts_of(out, student) == before
    assert (out / "grades.csv").read_text() == grades


def test_students_graded_in_lanes_get_the_results_of_the_class_run(graded_class, tmp_path):
    """With more processes than students, each student's assignments are graded in lanes
    side by side (run.grade_here): the same results.json and pages as in the class run,
    where each student is graded whole in one process; notes (a variant's missing modules),
    inputs overwritten and a table of memorized answers alike."""
    submissions, out, _ = graded_class
    chosen = ["generated__overwrites_inputs", "generated__lookup_table", VARIANTS[0].parent.name
              + "__" + VARIANTS[0].name]
    alone = autograde(submissions, "--out", tmp_path / "out", "-j", "6", *[a for s in chosen for a in ("-s", s)])
    assert alone.returncode == 0, alone.stdout[-2000:] + alone.stderr[-3000:]
    assert "3 student(s) on 6 processes: each graded in 2 lanes side by side" in alone.stdout, alone.stdout
    for student in chosen:
        for page in ("results.json", "feedback.md", "feedback.html"):
            assert (tmp_path / "out" / student / page).read_text() == (out / student / page).read_text(), \
                (student, page)


def test_unusable_arguments_get_a_one_line_error(tmp_path):
    run = autograde(tmp_path / "nowhere")
    assert run.returncode == 2 and "does not exist" in run.stderr
    (tmp_path / "class").mkdir()
    run = autograde(tmp_path / "class", "-a", "08_attention")
    assert run.returncode == 2 and "no assignment '08_attention'" in run.stderr
