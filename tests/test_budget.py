"""What one student can cost the batch (sandbox/budget.py, replies.allowance): students
built to waste time, graded by the real `autograde`, each cost at most a few honest
students, measured in the same run; a reply far larger than a correct one is refused at
once; and every correct variant in tests/students still scores full marks."""
import re
import subprocess
import sys
import time

import pytest

from autograder import kit
from autograder.batch import state
from autograder.sandbox import budget

from conftest import STUDENTS

ASSIGNMENT = "01_activations"
FUNCTIONS = re.findall(r"^def ([a-z]\w*)\(",
                       (kit.SOLUTIONS / ASSIGNMENT / "activations.py").read_text(), re.M)


def wasting(body: str, top: str = "") -> str:
    """An activations.py whose every function runs `body`."""
    return "import os\nimport time\n\nimport numpy as np\n" + top + "".join(
        f"\n\ndef {name}(x, *args, **kwargs):\n{body}\n" for name in FUNCTIONS)


# Each wastes time just within a limit of the sandbox: a call's 2 s, an import's 10 s, a
# reply's 64 MiB; or returns what costs the grader, not the sandbox, to take in.
HOSTILE = {
    "sleeps": {"sleeps": wasting("    time.sleep(1.95)\n    return np.zeros_like(x)")},
    "sleeps_importing": {"sleeps_importing": wasting("    os._exit(3)", top="\ntime.sleep(9.5)\n")},
    "loops": {"loops": wasting("    while True:\n        pass")},
    "replies_too_much": {
        "replies_64_mb": wasting("    return np.zeros((64 * 2**20 - 4096) // 8)"),
        "replies_200000_objects": wasting("    return [object() for _ in range(200_000)]")},
}


def graded(tmp_path, students: dict[str, dict[str, str]], *args, jobs=1) -> tuple[float, object]:
    """Grade `students` (student -> file name -> source) with `autograde -j JOBS`: the wall
    time of grading them, the tests' preparation left out, and the output folder."""
    submissions, out = tmp_path / "class", tmp_path / "out"
    for student, files in students.items():
        (submissions / student).mkdir(parents=True)
        for name, source in files.items():
            (submissions / student / name).write_text(source)
    run = subprocess.run([sys.executable, "-c", "from autograder.cli import main; main()",
                          str(submissions), "--out", str(out), "-j", str(jobs), *args],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    total, preparing = map(float, re.search(r"graded \d+ student\(s\) in ([\d.]+) s \(([\d.]+) s "
                                            r"preparing", run.stdout).groups())
    return total - preparing, out


def correct_students() -> dict[str, dict[str, str]]:
    """Full students made of the correct variants: the k-th has the k-th correct variant of
    every assignment (the last one of an assignment with fewer), so all are graded."""
    variants = {a: sorted((STUDENTS / a).glob("correct*")) for a in kit.assignment_names()}
    return {f"honest{k}": {f"{kit.module_name(a)}.py": (found[min(k, len(found) - 1)] /
                                                       f"{kit.module_name(a)}.py").read_text()
                           for a, found in variants.items()}
            for k in range(max(map(len, variants.values())))}


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    """The wall time one honest full student costs, graded one after another."""
    students = correct_students()
    cost, out = graded(tmp_path_factory.mktemp("honest"), students)
    return cost / len(students), out, students


def test_every_correct_variant_still_scores_full_marks(honest):
    _, out, students = honest
    for student in students:
        verdicts, notes = state.flat(state.load(out / student))[:2]
        assert verdicts and not notes, (student, notes)
        lost = [f"{v['nodeid']}: {v['message']}" for v in verdicts if not v["passed"]]
        assert not lost, (student, lost)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_student_built_to_waste_time_costs_at_most_five_honest_ones(honest, name, tmp_path):
    cost, out = graded(tmp_path, {student: {"activations.py": source}
                                  for student, source in HOSTILE[name].items()}, "-a", ASSIGNMENT)
    assert cost <= 5 * honest[0], f"{name} cost {cost:.1f} s, an honest student {honest[0]:.1f} s"
    for student in HOSTILE[name]:
        verdicts, notes = state.flat(state.load(out / student))[:2]
        assert not any(v["passed"] for v in verdicts)
        if name == "replies_too_much":  # refused unread: a whole student in well under a second
            assert cost / len(HOSTILE[name]) < 1.0, f"{len(HOSTILE[name])} students took {cost:.1f} s"
            assert len(notes) == 1 and re.fullmatch(
                r"activations.sigmoid replied [\d.]+ MB where a correct answer is about 40 "
                r"bytes; activations was stopped after a reply far larger than a correct answer",
                notes[0]), notes
        else:
            assert notes[-1].startswith("the time budget of 5 s per student is used up ("), notes


def sleeping(assignment: str) -> str:
    """A module whose every function of `assignment` sleeps half a second, then returns 0."""
    names = re.findall(r"^def ([a-z]\w*)\(", (kit.SOLUTIONS / assignment / f"{kit.module_name(assignment)}.py")
                       .read_text(), re.M)
    return "import time\n" + "".join(f"\n\ndef {name}(*args, **kwargs):\n    time.sleep(0.5)\n    return 0\n"
                                     for name in names)


def test_a_lane_counts_what_the_others_spent_and_their_waits_under_way():
    """budget.Budget over memory two lanes share: while one waits on its sandbox, the other
    already counts that wait; once it is over, what it added to the first lane's spending."""
    memory = budget.shared(2)
    first, second = budget.Budget(5.0, lanes=(memory, 0)), budget.Budget(5.0, lanes=(memory, 1))
    with first.waiting():
        time.sleep(0.3)
        assert second.left() <= 4.7
    assert second.left() <= 4.7 and first.others() <= second.used() + 1e-9
    assert first.left() <= 4.7 and 0.3 <= first.used() < 1.0


def test_a_student_graded_in_lanes_spends_one_budget_in_all_of_them(tmp_path):
    """Alone on two processes, a student's assignments are graded in two lanes side by side
    (run.grade_here). Sleeping in every function of two assignments, one in each lane, the
    student still has one budget of 5 s, not one per lane: each lane's note names its module,
    counts what the other lane spent, its call under way included, and the two together stop
    at the budget, past it by at most the other lane's last call (0.5 s) and a margin for a
    loaded machine."""
    assignments = [ASSIGNMENT, "07_diagnostics"]
    _, out = graded(tmp_path, {"sleeper": {f"{kit.module_name(a)}.py": sleeping(a) for a in assignments}},
                    *[arg for a in assignments for arg in ("-a", a)], jobs=2)
    held = state.load(out / "sleeper")
    for assignment in assignments:  # its lane's note, and only that one
        notes = [n for n in held["assignments"][assignment]["notes"] if n.startswith("the time budget")]
        assert len(notes) == 1, (assignment, notes)
        own_code, own_grader, beside = map(float, re.fullmatch(
            r"the time budget of 5 s per student is used up \(([\d.]+) s of the student's code "
            r"running, ([\d.]+) s of the grader's work on its answers, ([\d.]+) s grading their "
            r"other assignments beside these\): every test of " + kit.module_name(assignment)
            + " after that failed without running", notes[0]).groups())
        assert beside >= 1.0 and 4.8 <= own_code + own_grader + beside <= 6.0, notes[0]


PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], capture_output=True, check=True, timeout=900)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_memory(tmp_path, source: str) -> int:
    """The most memory (KiB, resident) any process of `autograde -a 01_activations` held
    (the grader, its workers, the sandboxes), grading one student with this activations.py."""
    (tmp_path / "class" / "student").mkdir(parents=True)
    (tmp_path / "class" / "student" / "activations.py").write_text(source)
    run = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-c",
                          "from autograder.cli import main; main()", str(tmp_path / "class"),
                          "--out", str(tmp_path / "out"), "-a", ASSIGNMENT, "-j", "1"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return int(run.stdout.split()[-1])


def test_the_largest_reply_allowed_costs_the_grader_no_more_memory_than_an_honest_student(tmp_path):
    """A student replying 64 MB to every call held a grader worker at 2-2.7 GB while it
    decoded; refused on its header now, it leaves every process of the run within 32 MiB of
    what an honest student's run peaks at (262 and 263 MiB here), less than one such reply."""
    honest = peak_memory(tmp_path / "honest", (kit.SOLUTIONS / ASSIGNMENT / "activations.py").read_text())
    hostile = peak_memory(tmp_path / "hostile", HOSTILE["replies_too_much"]["replies_64_mb"])
    assert hostile <= honest + 32 * 1024, f"peak {hostile // 1024} MiB, honest {honest // 1024} MiB"
