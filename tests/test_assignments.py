"""The assignments grade real work correctly: solutions pass, stubs score 0, handouts agree."""
import re

import pytest

from autograder import kit
from autograder.grading.plugin import points_table
from autograder.integrations.stubs import stub_files



def test_solutions_score_full_marks(solution_run):
    verdicts, output = solution_run
    failed = [f"{v['nodeid']}: {v['message']}" for v in verdicts if not v["passed"]]
    assert not failed, "\n".join(failed)
    assert {v["assignment"] for v in verdicts} == set(kit.assignment_names())


def test_every_assignment_test_is_graded(solution_run):
    verdicts, output = solution_run
    passed = int(re.search(r"(\d+) passed", output).group(1))
    assert passed == len(verdicts), "a test in assignments/ carries no @graded mark"


def test_stubs_score_zero_with_not_implemented_messages(stub_run):
    verdicts, _ = stub_run
    assert verdicts and all(v["points"] == 0 for v in verdicts)
    assert all("not implemented yet" in v["message"] for v in verdicts), \
        [v["message"] for v in verdicts if "not implemented yet" not in v["message"]][:5]


def test_committed_stubs_are_generated_from_the_solutions():
    files = stub_files(kit.SOLUTIONS, kit.ASSIGNMENTS)
    assert files
    stale = [str(path) for path, text in files.items() if not path.exists() or path.read_text() != text]
    assert not stale, f"run `autograde stubs`: out of date {stale}"


@pytest.mark.parametrize("assignment", kit.assignment_names())
def test_handout_states_the_assignment_total(assignment, solution_run):
    verdicts, _ = solution_run
    total = {name: most for name, _, most, _ in points_table(verdicts)}[assignment]
    handout = (kit.ASSIGNMENTS / assignment / "README.md").read_text()
    stated = re.search(r"\*\*Total: (\d+) points\*\*", handout)
    assert stated, f"{assignment}/README.md must state '**Total: N points**'"
    assert int(stated.group(1)) == total
