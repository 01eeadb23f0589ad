"""What the batch grader writes: Gradescope's results.json, a feedback page a student can
read safely, grades.csv a spreadsheet can open safely, the run summary, atomic writes."""
import csv
import io
import json
import os
from html.parser import HTMLParser

import pytest

from autograder.outputs.files import write_atomic
from autograder.outputs.gradebook import grade_row, grades_csv, summary_lines
from autograder.outputs.pages import feedback_html, feedback_markdown
from autograder.outputs.results import results_json
from autograder.outputs.text import MAX_TEXT

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)> [link](http://evil.example) | x'
MAXIMA = {"01_activations": 10, "02_backprop": 6}


def verdict(assignment="01_activations", function="sigmoid", prop="is never above 1",
            points=2, passed=True, message="", hint="the usual mistake"):
    return {"assignment": assignment, "function": function, "property": prop,
            "max_points": points, "points": points if passed else 0, "passed": passed,
            "message": message, "hint": hint,
            "nodeid": f"{assignment}/test_x.py::test_{function}"}


VERDICTS = [
    verdict(points=4),
    verdict(function="sigmoid_grad", prop="is never above 0.25", points=3, passed=False,
            message="sigmoid_grad(x=[0.0]) returned [0.5]; expected [0.25]",
            hint="differentiate the sigmoid, not x"),
    verdict(function="tanh", prop="matches torch.tanh", points=3),
    verdict("02_backprop", "linear_backward", "matches autograd", points=6),
]


# --- results.json -----------------------------------------------------------------------

def test_results_json_is_gradescope_schema_with_scores_that_add_up():
    results = results_json("alice", VERDICTS, [], MAXIMA)
    json.loads(json.dumps(results))
    assert results["score"] == 13 and results["max_score"] == 16
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    assert sum(t["max_score"] for t in results["tests"]) == results["max_score"]
    assert results["output_format"] == results["test_output_format"] == "text"
    assert results["visibility"] == "visible"
    assert [t["status"] for t in results["tests"]] == ["passed", "failed", "passed", "passed"]
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output"}
    failed = results["tests"][1]
    assert failed["name"] == "01_activations · sigmoid_grad: is never above 0.25"
    assert failed["score"] == 0 and failed["max_score"] == 3
    assert failed["output"] == ("sigmoid_grad(x=[0.0]) returned [0.5]; expected [0.25]\n"
                                "hint: differentiate the sigmoid, not x")
    assert results["tests"][0]["output"] == ""
    assert results["output"].splitlines() == ["01_activations: 7 / 10 points",
                                              "02_backprop: 6 / 6 points"]


PRIVATE = dict(verdict(function="relu", prop="is 0 below 0", passed=False, message="relu(-1) gave -1",
                       hint="private hint"),
               nodeid="private/01_activations/test_more.py::test_relu")
HELD_OUT = dict(verdict(function="tanh", prop="matches torch.tanh", passed=False,
                        message="passes the public examples but fails on a held-out one"),
                withheld={"message": "tanh(x) gave 0.5, expected 0.46", "example": "x=array([0.5])"})
SECRETS = ("relu", "private hint", "relu(-1)", "0.46", "array([0.5])")


def test_private_tests_are_shown_on_gradescope_only_once_grades_are_published():
    results = results_json("alice", [*VERDICTS, PRIVATE, HELD_OUT], [], MAXIMA, published=True)
    shown = {t["name"]: t.get("visibility") for t in results["tests"]}
    assert shown.pop("01_activations · relu: is 0 below 0") == "after_published"
    assert shown.pop("01_activations · tanh: matches torch.tanh (held-out example)") == "after_published"
    assert set(shown.values()) == {None}
    assert sum(t["score"] for t in results["tests"]) == results["score"]


@pytest.mark.parametrize("writer", [results_json, feedback_html, feedback_markdown])
def test_before_publication_a_student_sees_that_hidden_checks_exist_and_their_total_only(writer):
    """Until the grades are published, every output counts the private tests without
    naming them, and says that a held-out example failed without showing it; published,
    every output shows both."""
    before = writer("alice", [*VERDICTS, PRIVATE, HELD_OUT], [], MAXIMA)
    after = writer("alice", [*VERDICTS, PRIVATE, HELD_OUT], [], MAXIMA, published=True)
    # Markdown's escapes (held\\-out) are not what a reader sees.
    before, after = (json.dumps(page) if writer is results_json else page.replace("\\", "")
                     for page in (before, after))
    assert "hidden checks" in before and "fails on a held-out one" in before
    assert [s for s in SECRETS if s in before] == []
    assert [s for s in SECRETS if s not in after] == []


def test_an_assignment_without_verdicts_still_counts_zero_out_of_its_maximum():
    notes = ["backprop: no backprop.py (or backprop.ipynb) found"]
    results = results_json("alice", VERDICTS[:3], notes, MAXIMA)
    assert results["score"] == 7 and results["max_score"] == 16
    missing = results["tests"][-1]
    assert missing == {"name": "02_backprop · ungraded tests", "score": 0, "max_score": 6,
                       "status": "failed",
                       "output": "not graded: backprop: no backprop.py (or backprop.ipynb) found"}
    assert results["output"].splitlines()[0] == notes[0]
    assert sum(t["max_score"] for t in results["tests"]) == results["max_score"]


def test_a_student_with_nothing_graded_gets_zero_of_everything():
    results = results_json("bob", [], ["bob.zip: not a zip file"], MAXIMA)
    assert (results["score"], results["max_score"]) == (0, 16)
    assert [t["max_score"] for t in results["tests"]] == [10, 6]


def test_student_text_in_results_json_is_one_capped_line():
    long = verdict(passed=False, message="boom\n" * 10_000, hint="h")
    output = results_json("alice", [long], [], {})["tests"][0]["output"]
    message, hint = output.split("\n")
    assert len(message) == MAX_TEXT and message.endswith("…")
    assert hint == "hint: h"


# --- the feedback page ------------------------------------------------------------------

class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]

    def handle_data(self, data):
        self.text.append(data)


def test_the_feedback_page_escapes_everything_a_student_controls():
    hostile = [verdict(passed=False, function=HOSTILE, prop=HOSTILE, message=HOSTILE, hint=HOSTILE)]
    page = feedback_html(HOSTILE, hostile, [HOSTILE], {"01_activations": 2})
    parsed = Tags()
    parsed.feed(page)
    assert set(parsed.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3",
                                "h4", "p", "div", "strong", "ul", "li", "table", "tr", "th", "td",
                                "a", "code", "br", "span", "i", "details", "summary"}
    assert not any(name.startswith("on") or name == "src" for name in parsed.attributes)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    # The hostile text is all still there, as text: title, heading, note, and the failure's
    # function, property, message and hint.
    assert "".join(parsed.text).count("<script>alert(1)</script>") == 7
    assert "default-src 'none'" in page


def test_the_feedback_page_shows_totals_notes_first_and_each_test():
    notes = ["sandbox: namespaces turned off; running with rlimits only"]
    page = feedback_html("alice", VERDICTS, notes, {**MAXIMA, "03_initializers": 5})
    assert "Feedback for alice: 13 / 21 points" in page
    assert page.index(notes[0]) < page.index("<table")
    assert "01_activations: 7 / 10 points" in page
    assert "03_initializers: 0 / 5 points" in page and "ungraded tests" in page
    # What to fix comes before what passed: the failing test, then the ungraded tests,
    # then the passes, collapsed.
    fix, passed = page.split("<h2>What passed</h2>")
    assert fix.count('<div class="function"') == 2
    assert "differentiate the sigmoid, not x" in fix and "is never above 0.25" in fix
    assert "matches torch.tanh" in passed and passed.count("<details") == 3
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


def rendered(markdown: str) -> Tags:
    """The tags and text of `markdown` rendered to HTML by a CommonMark renderer."""
    import mistune

    parsed = Tags()
    parsed.feed(mistune.html(markdown))
    return parsed


def test_the_markdown_feedback_has_the_same_numbers_and_no_live_markup():
    text = feedback_markdown("alice", VERDICTS, [], MAXIMA)
    assert text.startswith("# Feedback for alice: 13 / 16 points\n")
    assert "| 01_activations   | 7 / 10      | 1      |" in text
    hostile = feedback_markdown("eve", [verdict(passed=False, message=HOSTILE, hint=HOSTILE)],
                                [HOSTILE], {})
    # Only what Markdown would act on is escaped, with a backslash.
    escaped = (r'\<script>alert(1)\</script>">\<img src=x onerror=alert(2)> '
               r"\[link](http\://evil.example) | x")
    assert f"- {escaped}\n" in hostile and f"\n{escaped}\n" in hostile
    assert escaped.replace("|", "\\|") not in hostile  # no table holds student text
    parsed = rendered(hostile)
    assert set(parsed.tags) <= {"h1", "h2", "h3", "h4", "p", "ul", "li", "table", "thead", "tbody",
                                "tr", "th", "td", "strong", "code"}
    assert set(parsed.attributes) <= {"style"}  # a table column's alignment
    assert "".join(parsed.text).count(HOSTILE) == 3  # the note, the message, the hint


def test_the_markdown_feedback_reads_as_plain_text():
    """Ordinary punctuation stays as it is: no sigmoid\\(x\\) or 0\\.25."""
    message = "sigmoid_grad(x=[0.0]) returned [0.5]; expected 0.25 (x <= 0.25, a * b, f'(x))"
    text = feedback_markdown("alice", [verdict(passed=False, message=message,
                                               hint="sigmoid'(x) = s * (1 - s), at most 0.25")], [], MAXIMA)
    assert f"\n{message}\n" in text
    assert "Hint: sigmoid'(x) = s * (1 - s), at most 0.25" in text
    assert "\\" not in text
    assert message in "".join(rendered(text).text)


# --- grades.csv and the summary ---------------------------------------------------------

def rows():
    return [grade_row("bob", VERDICTS[:3], ["backprop: no backprop.py found"], MAXIMA),
            grade_row("alice", VERDICTS, [], MAXIMA),
            grade_row("=HYPERLINK(\"http://evil\",\"x\")", [], ["crashed"], MAXIMA),
            grade_row("+1", [], [], MAXIMA),
            grade_row("-2", [], [], MAXIMA),
            grade_row("@SUM(A1)", [], [], MAXIMA),
            grade_row("o'brien, jr", VERDICTS, [], MAXIMA)]


def test_grade_rows_add_up():
    row = grade_row("bob", VERDICTS[:3], ["x"], MAXIMA)
    assert row["points"] == {"01_activations": 7, "02_backprop": 0}
    assert row["max_points"] == MAXIMA
    assert (row["total"], row["max_total"], row["failed"]) == (7, 16, 1)


def test_grades_csv_has_a_column_per_assignment_and_totals():
    text = grades_csv(rows(), ["01_activations", "02_backprop"])
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["student", "01_activations", "02_backprop", "total", "max_total"]
    by_student = {line[0]: line[1:] for line in table[1:]}
    assert by_student["alice"] == ["7", "6", "13", "16"]
    assert by_student["bob"] == ["7", "0", "7", "16"]
    assert by_student["o'brien, jr"] == ["7", "6", "13", "16"]
    only = list(csv.reader(io.StringIO(grades_csv(rows(), ["02_backprop"]))))
    assert only[1] == ["'+1", "0", "0", "6"]


def test_grades_csv_never_starts_a_cell_with_a_formula():
    table = list(csv.reader(io.StringIO(grades_csv(rows(), ["01_activations"]))))
    ids = [line[0] for line in table[1:]]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in ids
    assert {"'+1", "'-2", "'@SUM(A1)"} <= set(ids)
    for line in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in line)


def test_the_summary_gives_means_and_the_students_with_problems():
    lines = summary_lines(rows(), ["01_activations", "02_backprop"])
    assert lines[0] == "7 students graded"
    activations = next(line for line in lines if line.startswith("01_activations"))
    assert activations.split()[1:4] == ["3.0", "/", "10"]  # (7 + 7 + 7) / 7
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1:4] == ["4.7", "/", "16"]  # (7 + 13 + 13) / 7
    assert "2 students with problems:" in lines
    assert "  bob: backprop: no backprop.py found" in lines
    assert summary_lines([], ["01_activations"]) == ["0 students graded"]


# --- atomic writes ----------------------------------------------------------------------

def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    write_atomic(target, "first")
    write_atomic(target, "second é")
    assert target.read_text(encoding="utf-8") == "second é"
    assert os.listdir(tmp_path) == ["results.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "grades.csv"
    write_atomic(target, "old")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["grades.csv"]


def test_invisible_characters_a_student_wrote_are_shown_as_escapes():
    """U+202E (right-to-left override) and other format characters in an exception message
    could make a feedback line read as something else: every output shows them escaped."""
    spoof = dict(verdict(function="sigmoid", passed=False, message="sigmoid gave 1\u202e)stniop 01 rof"))
    for page in (feedback_html("alice", [spoof], [], MAXIMA), feedback_markdown("alice", [spoof], [], MAXIMA),
                 json.dumps(results_json("alice", [spoof], ["zip\u200bnote"], MAXIMA), ensure_ascii=False)):
        assert "\u202e" not in page and "\u200b" not in page
        assert "u202e" in page
