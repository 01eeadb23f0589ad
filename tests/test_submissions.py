"""Submissions as the batch grader reads them: who the students are, what changed since the
last run, zips unpacked without trusting them, and each module's source found, never run."""
import json
import os
import random
import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from autograder.submissions import students
from autograder.submissions.students import (Submission, SubmissionProblem, find_students, fingerprint,
                                    student_modules, unpack)

GOOD = "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"


def make_zip(path: Path, entries) -> Path:
    """entries: (name or ZipInfo, bytes or str) pairs, written as given, hostile or not."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def zip_submission(tmp_path: Path, entries, student="alice") -> Submission:
    return Submission(student, make_zip(tmp_path / f"{student}.zip", entries), "zip")


def special(name: str, file_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (file_type | 0o777) << 16
    return info


def everything_below(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture
def work(tmp_path):
    """The grader's work folder, inside a sentinel folder that must stay as it is."""
    outside = tmp_path / "outside"
    outside.mkdir()
    return outside / "work"


# --- who the students are ---------------------------------------------------------------

def test_every_folder_and_zip_is_a_student_sorted_by_id(tmp_path):
    (tmp_path / "carol").mkdir()
    (tmp_path / "alice").mkdir()
    make_zip(tmp_path / "bob.zip", [("activations.py", GOOD)])
    make_zip(tmp_path / "dave.ZIP", [("activations.py", GOOD)])
    found, notes = find_students(tmp_path)
    assert [(s.student, s.kind, s.path.name) for s in found] == [
        ("alice", "folder", "alice"), ("bob", "zip", "bob.zip"),
        ("carol", "folder", "carol"), ("dave", "zip", "dave.ZIP")]
    assert notes == []


def test_hidden_entries_are_skipped_silently_and_other_files_with_a_note(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / ".hidden.zip").write_bytes(b"")
    (tmp_path / "grades-from-last-year.csv").write_text("student,total\n")
    os.symlink(tmp_path / "alice", tmp_path / "mallory")
    found, notes = find_students(tmp_path)
    assert [s.student for s in found] == ["alice"]
    assert len(notes) == 2
    assert "'grades-from-last-year.csv': neither a folder nor a .zip file" in notes[0]
    assert "'mallory': a symbolic link" in notes[1]


def test_ids_unsafe_as_folder_names_are_normalised_and_said(tmp_path):
    (tmp_path / "eve\x1b[31m").mkdir()
    (tmp_path / "back\\slash").mkdir()
    (tmp_path / "ren\u202eexe.zip").write_bytes(b"")
    (tmp_path / "zoë").mkdir()
    found, notes = find_students(tmp_path)
    assert sorted(s.student for s in found) == ["back_slash", "eve_[31m", "ren_exe", "zoë"]
    assert {s.student: s.path.name for s in found}["eve_[31m"] == "eve\x1b[31m"
    assert len(notes) == 3
    for note in notes:
        assert note.isprintable(), note  # the note quotes the name with its escapes
    assert any("'eve\\x1b[31m': graded as 'eve_[31m'" in n for n in notes)


def test_two_entries_for_one_output_folder_are_both_left_out(tmp_path):
    (tmp_path / "alice").mkdir()
    make_zip(tmp_path / "alice.zip", [("activations.py", GOOD)])
    (tmp_path / "Bob").mkdir()
    (tmp_path / "bob").mkdir()
    (tmp_path / "carol").mkdir()
    (tmp_path / "grades.csv").mkdir()
    found, notes = find_students(tmp_path)
    assert [s.student for s in found] == ["carol"]
    assert any("'alice', 'alice.zip': these would share one output folder" in n for n in notes)
    assert any("'Bob', 'bob'" in n for n in notes)
    assert any("'grades.csv': the id 'grades.csv' is a file name the grader writes" in n for n in notes)


@pytest.mark.parametrize("marker", ["nbgrader_config.py", "gradebook.db"])
def test_an_nbgrader_course_is_the_class_in_its_submitted_folder(tmp_path, marker):
    (tmp_path / marker).write_text("")
    for folder in ("source/01_activations", "release/01_activations",
                   "submitted/bob/01_activations", "submitted/alice/01_activations"):
        (tmp_path / folder).mkdir(parents=True)
    found, notes = find_students(tmp_path)
    assert [(s.student, s.kind, s.path) for s in found] == [
        ("alice", "folder", tmp_path / "submitted" / "alice"),
        ("bob", "folder", tmp_path / "submitted" / "bob")]
    assert notes == []


def test_a_student_named_submitted_is_a_student_without_nbgrader_files(tmp_path):
    (tmp_path / "submitted").mkdir()
    (tmp_path / "alice").mkdir()
    found, _ = find_students(tmp_path)
    assert [s.student for s in found] == ["alice", "submitted"]


# --- what changed since the last run ----------------------------------------------------

def test_a_folder_fingerprint_changes_with_its_files_and_nothing_else(tmp_path):
    folder = tmp_path / "alice"
    (folder / "hw").mkdir(parents=True)
    (folder / "hw" / "activations.py").write_text(GOOD)
    (folder / "notes.txt").write_text("todo")
    alice = Submission("alice", folder, "folder")
    first = fingerprint(alice)
    assert fingerprint(alice) == first

    os.utime(folder / "notes.txt", (0, 0))
    os.symlink("/etc/passwd", folder / "hw" / "link.py")  # not followed, so not counted
    assert fingerprint(alice) == first

    (folder / "hw" / "activations.py").write_text(GOOD.replace("1 /", "2 /"))
    assert fingerprint(alice) != first
    (folder / "hw" / "activations.py").write_text(GOOD)
    assert fingerprint(alice) == first

    (folder / "notes.txt").rename(folder / "hw" / "notes.txt")
    assert fingerprint(alice) != first


def test_file_boundaries_are_part_of_the_fingerprint(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, a, b in [(one, "ab", "c"), (two, "a", "bc")]:
        folder.mkdir()
        (folder / "a.py").write_text(a)
        (folder / "b.py").write_text(b)
    assert fingerprint(Submission("x", one, "folder")) != fingerprint(Submission("x", two, "folder"))


def test_a_zip_fingerprint_is_that_of_its_bytes(tmp_path):
    alice = zip_submission(tmp_path, [("activations.py", GOOD)])
    first = fingerprint(alice)
    assert fingerprint(alice) == first
    make_zip(alice.path, [("activations.py", GOOD + "\n")])
    assert fingerprint(alice) != first


# --- unpacking --------------------------------------------------------------------------

def test_a_folder_is_read_in_place(tmp_path, work):
    (tmp_path / "alice").mkdir()
    assert unpack(Submission("alice", tmp_path / "alice", "folder"), work) == tmp_path / "alice"
    assert not work.exists()


def test_a_zip_unpacks_its_code_with_its_folders_into_work_dir(tmp_path, work):
    notebook = json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1\n"]}]})
    alice = zip_submission(tmp_path, [
        ("alice/", ""), ("alice/hw 1/activations.py", GOOD),
        ("alice/hw 1/backprop.ipynb", notebook), ("alice/README.md", "# mine"),
        ("alice\\windows\\clipping.py", "y = 2\n"), ("./alice/./dot.py", "")])
    root = unpack(alice, work)
    assert root == work / "alice"
    assert everything_below(root) == {
        "alice", "alice/hw 1", "alice/hw 1/activations.py", "alice/hw 1/backprop.ipynb",
        "alice/windows", "alice/windows/clipping.py", "alice/dot.py"}
    assert (root / "alice" / "hw 1" / "activations.py").read_text() == GOOD
    assert stat.S_IMODE((root / "alice" / "windows" / "clipping.py").stat().st_mode) & 0o111 == 0
    assert everything_below(work.parent) == {"work", "work/alice"} | {
        f"work/alice/{p}" for p in everything_below(root)}


def test_unpacking_again_replaces_what_an_earlier_run_left(tmp_path, work):
    unpack(zip_submission(tmp_path, [("old.py", "")]), work)
    root = unpack(zip_submission(tmp_path, [("new.py", "")]), work)
    assert everything_below(root) == {"new.py"}


HOSTILE = [
    pytest.param([("../evil.py", "x")], "entry '../evil.py' leaves the archive", id="dot-dot"),
    pytest.param([("hw/../../evil.py", "x")], "entry 'hw/../../evil.py' leaves the archive",
                 id="dot-dot-inside"),
    pytest.param([("..\\evil.py", "x")], "entry '..\\\\evil.py' leaves the archive", id="backslash"),
    pytest.param([("/tmp/evil.py", "x")], "entry '/tmp/evil.py' has an absolute path", id="absolute"),
    pytest.param([("C:/evil.py", "x")], "entry 'C:/evil.py' names a drive", id="drive"),
    pytest.param([("C:evil.py", "x")], "entry 'C:evil.py' names a drive", id="drive-relative"),
    pytest.param([("ok.py", ""), (special("activations.py", stat.S_IFLNK), "/etc/passwd")],
                 "entry 'activations.py' is a symbolic link", id="symlink"),
    pytest.param([(special("tty", stat.S_IFCHR), "")], "entry 'tty' is a device file", id="device"),
    pytest.param([(special("pipe", stat.S_IFIFO), "")], "entry 'pipe' is a FIFO", id="fifo"),
    pytest.param([("a\x1b[2J.py", "")], "entry 'a\\x1b[2J.py' has control characters in its name",
                 id="control"),
    pytest.param([("activations.py", "a"), ("activations.py", "b")],
                 "entry 'activations.py' appears twice", id="duplicate"),
]


@pytest.mark.parametrize("entries, reason", HOSTILE)
def test_a_hostile_zip_is_refused_whole_and_nothing_is_written(tmp_path, work, entries, reason):
    alice = zip_submission(tmp_path, entries)
    with pytest.raises(SubmissionProblem) as refused:
        unpack(alice, work)
    assert str(refused.value) == f"alice.zip: {reason}; the submission was not unpacked"
    assert everything_below(work.parent) == {"work"}
    assert {p.name for p in tmp_path.iterdir()} == {"outside", "alice.zip"}


def test_refusals_stay_one_short_line_without_the_graders_paths(tmp_path, work):
    long = zip_submission(tmp_path, [("../" + "x" * 5000 + ".py", "")])
    with pytest.raises(SubmissionProblem) as refused:
        unpack(long, work)
    assert len(str(refused.value)) < 200 and "leaves the archive" in str(refused.value)

    too_long = zip_submission(tmp_path, [("y" * 300 + ".py", "")], student="bob")
    with pytest.raises(SubmissionProblem) as refused:
        unpack(too_long, work)
    assert str(refused.value) == ("bob.zip: could not be unpacked (File name too long); "
                                  "the submission was not unpacked")

    odd = Submission("eve_", make_zip(tmp_path / "eve\x1b.zip", [("../a.py", "")]), "zip")
    with pytest.raises(SubmissionProblem) as refused:
        unpack(odd, work)
    assert str(refused.value).startswith("'eve\\x1b.zip': entry '../a.py' leaves the archive")
    assert everything_below(work.parent) == {"work"}


def test_a_refused_zip_also_removes_what_an_earlier_run_unpacked(tmp_path, work):
    unpack(zip_submission(tmp_path, [("activations.py", GOOD)]), work)
    with pytest.raises(SubmissionProblem):
        unpack(zip_submission(tmp_path, [("../evil.py", "")]), work)
    assert everything_below(work) == set()


def test_an_encrypted_entry_is_refused(tmp_path, work):
    alice = zip_submission(tmp_path, [("activations.py", GOOD)])
    raw = bytearray(alice.path.read_bytes())
    # zipfile cannot encrypt: set the "encrypted" flag bit in both headers by hand.
    for signature, offset in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)]:
        raw[raw.index(signature) + offset] |= 0x1
    alice.path.write_bytes(bytes(raw))
    with pytest.raises(SubmissionProblem, match="'activations.py' is encrypted"):
        unpack(alice, work)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """120 MiB of zeros, beyond the 100 MiB cap, in a 120 KiB zip."""
    bomb = tmp_path_factory.mktemp("bomb") / "alice.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("activations.py", "w", force_zip64=True) as entry:
            zeros = b"\0" * 2**22
            for _ in range(30):
                entry.write(zeros)
    assert bomb.stat().st_size < 2**18
    return bomb


def test_a_zip_bomb_is_stopped_by_its_ratio_after_a_few_bytes(bomb, work):
    with pytest.raises(SubmissionProblem, match=r"'activations.py' is compressed more than 100:1"):
        unpack(Submission("alice", bomb, "zip"), work)
    assert everything_below(work.parent) == {"work"}


def test_a_zip_bomb_is_stopped_by_the_total_size_too(bomb, work, monkeypatch):
    monkeypatch.setattr(students, "MAX_RATIO", float("inf"))
    with pytest.raises(SubmissionProblem, match="unpack to more than 100 MiB"):
        unpack(Submission("alice", bomb, "zip"), work)
    assert everything_below(work.parent) == {"work"}


def test_the_total_size_counts_the_bytes_read_over_all_entries(tmp_path, work, monkeypatch):
    monkeypatch.setattr(students, "MAX_TOTAL_BYTES", 3 * 2**20)
    chunks = [(f"part{i}.py", os.urandom(2**20)) for i in range(4)]  # 4 MiB, incompressible
    alice = zip_submission(tmp_path, chunks)
    with pytest.raises(SubmissionProblem, match="unpack to more than 3 MiB"):
        unpack(alice, work)
    assert everything_below(work.parent) == {"work"}


def test_a_header_that_understates_the_size_cannot_smuggle_bytes_in(tmp_path, work):
    data = random.Random(0).randbytes(2**20)
    alice = zip_submission(tmp_path, [("activations.py", data)])
    raw = alice.path.read_bytes()
    size = len(data).to_bytes(4, "little")
    assert raw.count(size) == 2  # the local header's and the central directory's
    alice.path.write_bytes(raw.replace(size, (100).to_bytes(4, "little")))
    with pytest.raises(SubmissionProblem, match="Bad CRC-32 for file 'activations.py'"):
        unpack(alice, work)
    assert everything_below(work.parent) == {"work"}


def test_too_many_entries_are_refused_before_the_directory_is_parsed(tmp_path, work):
    alice = zip_submission(tmp_path, [(f"f{i}.txt", "") for i in range(students.MAX_ENTRIES + 1)])
    with pytest.raises(SubmissionProblem, match="more than 10,000 entries"):
        unpack(alice, work)


def test_only_code_is_extracted_so_other_files_are_never_decompressed(tmp_path, work):
    alice = zip_submission(tmp_path, [("activations.py", GOOD), ("data.bin", b"\0" * 2**24)])
    root = unpack(alice, work)
    assert everything_below(root) == {"activations.py"}


@pytest.mark.parametrize("damage", ["not a zip", "truncated", "bad data"])
def test_a_corrupt_zip_is_a_submission_problem(tmp_path, work, damage):
    alice = zip_submission(tmp_path, [("activations.py", GOOD * 50)])
    raw = alice.path.read_bytes()
    if damage == "not a zip":
        raw = b"PK\x03\x04 this is not really a zip file"
    elif damage == "truncated":
        raw = raw[:len(raw) // 2]
    else:
        middle = len(raw) // 3
        raw = raw[:middle] + bytes(b ^ 0xFF for b in raw[middle:middle + 8]) + raw[middle + 8:]
    alice.path.write_bytes(raw)
    with pytest.raises(SubmissionProblem) as refused:
        unpack(alice, work)
    message = str(refused.value)
    assert message.startswith("alice.zip: ") and "\n" not in message
    assert message.endswith("; the submission was not unpacked")
    assert everything_below(work.parent) == {"work"}


# --- the modules ------------------------------------------------------------------------

def test_each_module_is_its_file_name_and_source(tmp_path):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "activations.py").write_text(GOOD)
    notebook = {"cells": [{"cell_type": "markdown", "source": "# Backprop"},
                          {"cell_type": "code", "source": ["%matplotlib inline\n", "a = 1"]},
                          {"cell_type": "code", "source": "b = 2"}]}
    (tmp_path / "backprop.ipynb").write_text(json.dumps(notebook))
    modules = student_modules(tmp_path, ["activations", "backprop"])
    assert modules["activations"] == (str(tmp_path / "deep" / "er" / "activations.py"), GOOD)
    filename, source = modules["backprop"]
    assert filename == str(tmp_path / "backprop.ipynb")
    assert source.splitlines() == ["# %matplotlib inline", "a = 1", "", "b = 2"]


def test_a_module_that_cannot_be_used_is_a_one_line_reason(tmp_path, monkeypatch):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "activations.py").write_text(GOOD)
    (tmp_path / "backprop.py").write_bytes("café = 1\n".encode("latin-1"))
    (tmp_path / "clipping.ipynb").write_text("{not json")
    (tmp_path / "residual.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "batchnorm.py").write_text("x = 1\n" * 100_000)
    (tmp_path / "diagnostics.ipynb").write_text('{"cells": [{"cell_type": "code", "source": 5}]}')
    monkeypatch.setattr(students, "MAX_MODULE_BYTES", 500_000)
    modules = student_modules(tmp_path, ["activations", "backprop", "clipping", "residual",
                                         "batchnorm", "initializers", "diagnostics"])
    assert modules == {
        "activations": "two or more files for activations: a/activations.py, b/activations.py; "
                       "keep exactly one",
        "backprop": "backprop.py is not UTF-8 text (byte 3); save it as UTF-8",
        "clipping": "clipping.ipynb is not a readable Jupyter notebook",
        "residual": "residual.ipynb is not a readable Jupyter notebook",
        "batchnorm": "batchnorm.py is 600,000 bytes; a module may be at most 500,000",
        "initializers": "no initializers.py (or initializers.ipynb) found",
        "diagnostics": "diagnostics.ipynb is not a readable Jupyter notebook",
    }


def test_finding_modules_never_runs_them(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "activations.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    modules = student_modules(tmp_path, ["activations"])
    assert isinstance(modules["activations"], tuple)
    assert not marker.exists()


def test_modules_are_found_in_an_unpacked_zip(tmp_path, work):
    alice = zip_submission(tmp_path, [("alice/hw/activations.py", GOOD),
                                      ("__MACOSX/alice/hw/._activations.py", b"\0\5\26\7")])
    modules = student_modules(unpack(alice, work), ["activations"])
    assert modules == {"activations": (str(work / "alice" / "alice" / "hw" / "activations.py"), GOOD)}


def test_nbgrader_locked_cells_are_the_graders_not_the_students(tmp_path):
    cell = lambda source, locked: {"cell_type": "code", "source": source,
                                   "metadata": {"nbgrader": {"locked": locked}}}
    notebook = {"cells": [cell("def sigmoid(x):\n    return x\n", False),
                          cell("from autograder.integrations.notebook import check\n", True)]}
    (tmp_path / "activations.ipynb").write_text(json.dumps(notebook))
    _, source = student_modules(tmp_path, ["activations"])["activations"]
    assert "def sigmoid" in source and "autograder" not in source


def notebook_with(code: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": code, "metadata": {}}]})


def test_an_nbgrader_notebook_is_the_module_of_the_assignment_it_is_filed_under(tmp_path):
    """nbgrader names a notebook after its assignment: submitted/<student>/01_activations/
    01_activations.ipynb is the student's activations module."""
    (tmp_path / "01_activations").mkdir()
    (tmp_path / "01_activations" / "01_activations.ipynb").write_text(notebook_with(GOOD))
    (tmp_path / "01_activations" / "timestamp.txt").write_text("2026-03-01 10:00:00\n")
    (tmp_path / "02_backprop").mkdir()
    (tmp_path / "02_backprop" / "anything.ipynb").write_text(notebook_with("b = 2"))
    (tmp_path / "03_initializers").mkdir()
    (tmp_path / "03_initializers" / "03_initializers.ipynb").write_text(notebook_with("c = 3"))
    (tmp_path / "initializers.py").write_text("c = 4\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "05_residual.ipynb").write_text(notebook_with("d = 5"))
    modules = student_modules(tmp_path, ["activations", "backprop", "initializers", "residual"])
    assert modules["activations"] == (str(tmp_path / "01_activations" / "01_activations.ipynb"),
                                      GOOD)
    # Any name will do inside the assignment's folder; a module file anywhere comes first.
    assert modules["backprop"][0] == str(tmp_path / "02_backprop" / "anything.ipynb")
    assert modules["initializers"] == (str(tmp_path / "initializers.py"), "c = 4\n")
    assert modules["residual"] == "no residual.py (or residual.ipynb) found"


def test_two_notebooks_in_an_assignment_folder_are_two_candidates(tmp_path):
    (tmp_path / "01_activations").mkdir()
    for name in ("01_activations.ipynb", "scratch.ipynb"):
        (tmp_path / "01_activations" / name).write_text(notebook_with(GOOD))
    assert student_modules(tmp_path, ["activations"]) == {
        "activations": "two or more files for activations: 01_activations/01_activations.ipynb, "
                       "01_activations/scratch.ipynb; keep exactly one"}
