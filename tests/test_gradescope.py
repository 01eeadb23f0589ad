"""The Gradescope autograder package: built by `autograde gradescope`, unpacked into a fake
/autograder, its setup.sh and run_autograder run as Gradescope runs them."""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.integrations.gradescope import copy_sources

from conftest import ACTIVATIONS, autograde

ASSIGNMENT = "01_activations"
SCRIPTS = ("setup.sh", "run_autograder")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    run = autograde("gradescope", path, "-a", ASSIGNMENT)
    assert run.returncode == 0, run.stdout + run.stderr
    return path


def unzip(archive_path: Path, destination: Path):
    """Unpack with the modes the zip records, as unzip does on Gradescope."""
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            Path(archive.extract(info, destination)).chmod(info.external_attr >> 16 & 0o777)


def test_the_zip_holds_the_two_scripts_and_the_kit_for_the_chosen_assignments(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    for script in SCRIPTS:
        assert stat.S_ISREG(modes[script]) and modes[script] & 0o111 == 0o111, script
    assert {"pyproject.toml", "constraints.txt", "README.md", "autograder/cli.py",
            "reference/activations.py", f"assignments/{ASSIGNMENT}/test_activations.py",
            "assignments/conftest.py", f"solutions/{ASSIGNMENT}/activations.py"} <= set(modes)
    folders = {name.split("/")[0] for name in modes if "/" in name}
    assert folders == {"autograder", "reference", "assignments", "solutions", "private"}
    with zipfile.ZipFile(package) as archive:  # Gradescope draws the held-out examples autograde draws
        assert archive.read("private/heldout-secret") == Path(os.environ["GRADKIT_SECRET"]).read_bytes()
    assert {name.split("/")[1] for name in modes if name.startswith(("assignments/", "solutions/"))
            and name.count("/") > 1} == {ASSIGNMENT}
    assert not [name for name in modes if "__pycache__" in name or name.endswith(".pyc")
                or "/." in name or name.startswith(".")]

    unzip(package, tmp_path)
    for script in SCRIPTS:
        check = subprocess.run(["bash", "-n", tmp_path / script], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    setup = (tmp_path / "setup.sh").read_text()
    assert '-c "$root/source/constraints.txt"' in setup
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in setup

    again = tmp_path / "again.zip"
    assert autograde("gradescope", again, "-a", "activations").returncode == 0
    assert again.read_bytes() == package.read_bytes(), "the same kit must give the same zip"


@pytest.mark.parametrize("student", sorted(ACTIVATIONS))
def test_run_autograder_gives_the_results_autograde_gives(package, tmp_path, activations_graded,
                                                          student):
    root = tmp_path / "autograder"
    unzip(package, root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    submission = root / "submission"
    (submission / "hw").mkdir(parents=True)
    shutil.copy(ACTIVATIONS[student], submission / "hw" / "activations.py")
    (submission / "notes.txt").write_text("uploaded by mistake\n")
    # The package's own secret, not the tests' (conftest.py), draws the held-out examples.
    env = {**{k: v for k, v in os.environ.items() if k != "GRADKIT_SECRET"},
           "AUTOGRADER_ROOT": str(root), "GRADKIT_PYTHON": sys.executable}

    run = subprocess.run([root / "run_autograder"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=900)

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    expected = json.loads((activations_graded / student / "results.json").read_text())
    assert results["extra_data"] == {"student": "submission"}
    assert {**results, "extra_data": None} == {**expected, "extra_data": None}
    assert results["visibility"] == "visible" and results["output"]
    if student == "alice":
        assert results["score"] == results["max_score"] > 0
    else:
        assert 0 < results["score"] < results["max_score"]
    assert sorted(p.relative_to(root).as_posix() for p in root.iterdir()) == [
        "results", "run_autograder", "source", "submission"]
    assert sorted(p.name for p in submission.rglob("*")) == ["activations.py", "hw", "notes.txt"]


def test_only_the_submissions_code_is_copied_for_grading(tmp_path):
    submission, copy = tmp_path / "submission", tmp_path / "copy"
    (submission / "hw").mkdir(parents=True)
    (submission / "hw" / "activations.py").write_text("x = 1\n")
    (submission / "backprop.ipynb").write_text("{}")
    (submission / "data.csv").write_text("1,2\n")
    (tmp_path / "elsewhere.py").write_text("secret = 1\n")
    os.symlink(tmp_path / "elsewhere.py", submission / "clipping.py")
    os.symlink(tmp_path, submission / "outside")
    os.mkfifo(submission / "residual.py")
    copy_sources(submission, copy)
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*")) == [
        "backprop.ipynb", "hw", "hw/activations.py"]


def test_an_unknown_assignment_is_a_one_line_error(tmp_path):
    run = autograde("gradescope", tmp_path / "autograder.zip", "-a", "08_attention")
    assert run.returncode == 2 and "no assignment '08_attention'" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_setup_sh_installs_the_package_and_a_submission_is_graded_without_preparing(package, tmp_path):
    """setup.sh run for real, as Gradescope runs it (as root, here into a temporary
    AUTOGRADER_ROOT): it makes a virtual environment with the kit, checks the package's
    prepared tests against it, and run_autograder then grades from them. This machine
    cannot reach PyTorch's index: pip tries it once (PIP_RETRIES=0) and takes torch from the
    local disk, as constraints.txt asks."""
    root = tmp_path / "autograder"
    unzip(package, root / "source")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GRADKIT_", "VIRTUAL_ENV"))},
           "AUTOGRADER_ROOT": str(root), "PIP_RETRIES": "0"}
    setup = subprocess.run(["bash", root / "source" / "setup.sh"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "prepared tests loaded from" in setup.stdout, setup.stdout[-2000:]
    assert (root / "venv" / "bin" / "python").exists()

    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    shutil.copy(ACTIVATIONS["alice"], root / "submission" / "activations.py")
    run = subprocess.run([root / "run_autograder"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "preparing the tests of" not in run.stdout and "prepared tests loaded from" in run.stdout
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] > 0
