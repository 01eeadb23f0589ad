"""Private tests (private/NN_name/test_*.py) join the public ones under their assignment."""
import textwrap
import warnings

from hypothesis.errors import HypothesisDeprecationWarning

from autograder import kit, runner
from autograder.loader import LocalSource

PRIVATE_TEST = '''
import numpy as np
from autograder.testing import graded, student_module

activations = student_module("activations")


@graded("sigmoid", points=3, hint="private: check sigmoid at a value students rarely try")
def test_sigmoid_at_minus_two(activations):
    """sigmoid(-2) is 0.1192 to 4 decimals"""
    assert abs(float(activations.sigmoid(np.array(-2.0))) - 0.1192) < 1e-4
'''


def test_private_tests_run_with_the_public_ones_under_their_assignment(tmp_path):
    folder = tmp_path / "01_activations"
    folder.mkdir()
    (folder / "test_private_sigmoid.py").write_text(textwrap.dedent(PRIVATE_TEST))
    files = runner.test_files(["01_activations"], private=tmp_path)
    assert files[-1] == folder / "test_private_sigmoid.py"
    verdicts = runner.run_tests(files[-1:], LocalSource(kit.SOLUTIONS))
    assert [(v["assignment"], v["function"], v["points"]) for v in verdicts] == [("01_activations", "sigmoid", 3)]
    stub = runner.run_tests(files[-1:], LocalSource(kit.ASSIGNMENTS))
    assert stub[0]["points"] == 0 and "not implemented yet" in stub[0]["message"]


def test_replayed_examples_never_call_hypothesis_outside_a_property_test():
    """The Replayer runs test bodies outside Hypothesis: an assume() there is deprecated
    (and meant to become an error), so rejections belong in the strategies."""
    prepared = runner.prepare(["03_initializers", "07_diagnostics"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", HypothesisDeprecationWarning)
        verdicts = runner.grade(prepared, LocalSource(kit.SOLUTIONS))
    assert [v["nodeid"] for v in verdicts if not v["passed"]] == []
