"""The figures drawn from a student's own code (grading/figures.py, assignments/*/figures_*.py):
on the solutions every curve is the reference's, on a known bug the student's curve leaves
it where the bug is, and nothing a student's code does stops a figure or gets into its SVG."""
import json
import math
from html.parser import HTMLParser

import pytest

from autograder import kit
from autograder.batch.runner import Suite, figure_files
from autograder.grading.figures import FIGURES
from autograder.outputs.charts import departures, line_chart
from autograder.outputs.figures import sentences, shown_figures
from autograder.submissions.loader import LocalSource
from conftest import STUDENTS


@pytest.fixture(scope="module")
def draw():
    """draw(folder) -> the figures drawn from the modules found below `folder` (in this
    process: the batch grader runs the same functions through the sandbox)."""
    with Suite([], figure_files(kit.assignment_names())) as suite:
        def run(folder):
            suite.run(LocalSource(folder))
            return {f["assignment"]: f for f in suite.config.stash[FIGURES]}

        yield run


def test_every_assignment_draws_a_figure_and_the_solutions_match_the_reference(draw):
    figures = draw(kit.SOLUTIONS)
    assert sorted(figures) == kit.assignment_names()
    for name, figure in figures.items():
        assert not figure["problems"], (name, figure["problems"])
        assert json.loads(json.dumps(figure)) == figure, f"{name}: not plain data"
        mine = [s for s in figure["series"] if s["role"] == "yours"]
        assert mine and all(any(y is not None for y in s["y"]) for s in mine), name
        away = departures(figure)
        assert all(found["count"] == 0 for found in away.values()), (name, away)
        assert all(note["ok"] is not False for note in figure["notes"]), (name, figure["notes"])
        if figure["compare"]:
            assert set(away) == {s["group"] for s in mine}, name


@pytest.mark.parametrize("variant, group, at", [
    # dW = x @ dout: wrong at every layer, first met at the last, where backprop starts.
    ("02_backprop/bug_dW_x_at_dout", "sigmoid", 20),
    ("02_backprop/bug_grads_reversed", "ReLU", 20),
    ("01_activations/bug_tanh_grad_no_square", "tanh′", -5.0),
    ("03_initializers/bug_he_with_lecun_std", "He, ReLU", 1),
    ("04_batchnorm/bug_backward_missing_mean_term", "batch norm", 10),
    ("05_residual/bug_missing_skip_grad", "residual blocks", 50),
])
def test_a_known_bug_leaves_the_reference_where_it_is(draw, variant, group, at):
    assignment = variant.split("/")[0]
    figure = draw(STUDENTS / variant)[assignment]
    found = departures(figure)[group]
    assert found["at"] == at and found["count"] > 0, found
    assert any(line["ok"] is False and "leaves the reference's" in line["text"] for line in sentences(figure))
    others = {g: f for g, f in departures(figure).items() if g != group}
    if variant.endswith(("tanh_grad_no_square", "he_with_lecun_std")):
        assert all(f["count"] == 0 for f in others.values()), others  # only the broken function


@pytest.mark.parametrize("variant, assignment", [("06_clipping/bug_inverted_ratio", "06_clipping"),
                                                 ("07_diagnostics/bug_ratio_inverted", "07_diagnostics")])
def test_a_known_bug_is_named_in_the_notes(draw, variant, assignment):
    figure = draw(STUDENTS / variant)[assignment]
    assert any(note["ok"] is False for note in figure["notes"]), figure["notes"]


def test_what_the_students_code_does_ends_a_curve_not_the_figure(draw, tmp_path):
    """A function that raises, returns None or returns NaN: the figure keeps the reference's
    curves and says what happened; a module that is missing draws no figure at all."""
    solution = (kit.SOLUTIONS / "02_backprop" / "backprop.py").read_text()
    raising = solution + '\n\ndef mlp_backward(dout, caches):\n    raise ValueError("<b>no</b> shapes align")\n'
    (tmp_path / "raising").mkdir()
    (tmp_path / "raising" / "backprop.py").write_text(raising)
    figure = draw(tmp_path / "raising")["02_backprop"]
    assert [p["label"] for p in figure["problems"]] == ["your sigmoid", "your ReLU"]
    assert all("ValueError: <b>no</b> shapes align" in p["message"] for p in figure["problems"])
    assert {s["role"] for s in figure["series"]} == {"reference"}
    svg = line_chart(figure)
    assert "<b>" not in svg and "shapes align" not in svg

    nothing = solution + "\n\ndef mlp_backward(dout, caches):\n    return None\n"
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "backprop.py").write_text(nothing)
    figure = draw(tmp_path / "nothing")["02_backprop"]
    assert figure["problems"] and "TypeError" in figure["problems"][0]["message"]

    nan = (kit.SOLUTIONS / "07_diagnostics" / "diagnostics.py").read_text() + (
        "\n\ndef layer_grad_norms(grads):\n    return np.full(len(grads), np.nan)\n")
    (tmp_path / "nan").mkdir()
    (tmp_path / "nan" / "diagnostics.py").write_text(nan)
    figure = draw(tmp_path / "nan")["07_diagnostics"]
    mine = [s for s in figure["series"] if s["role"] == "yours"]
    assert mine and all(s["nonfinite"] and all(y is None for y in s["y"]) for s in mine)
    assert any("NaN or infinite" in line["text"] for line in sentences(figure))
    assert "nan" not in line_chart(figure).lower()

    (tmp_path / "empty").mkdir()
    assert draw(tmp_path / "empty") == {}


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}


def test_a_chart_is_plain_svg_with_finite_coordinates(draw):
    for figure in shown_figures(list(draw(STUDENTS / "02_backprop" / "bug_dW_x_at_dout").values())
                                + list(draw(kit.SOLUTIONS).values())):
        parsed = Elements()
        parsed.feed(str(figure["svg"]))
        assert parsed.tags <= {"svg", "title", "rect", "line", "text", "polyline", "circle", "path"}
        assert not any(a.startswith("on") or a in ("href", "src", "style") for a in parsed.attributes)
        numbers = [float(n) for n in __import__("re").findall(r'(?:x|y|x1|x2|y1|y2|cx|cy)="([-\d.e]+)"',
                                                                  str(figure["svg"]))]
        assert numbers and all(math.isfinite(n) for n in numbers)
