"""Every command block of the README, run as written, in order, in a copy of the checkout:
a command that stops working fails here. A block preceded by
`<!-- readme-test: skip (why) -->` is not run, one preceded by
`<!-- readme-test: fails (why) -->` must exit non-zero."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder import kit

BLOCK = re.compile(r"((?:[ \t]*<!--[^\n]*-->\n)*)[ \t]*```sh\n(.*?)```", re.S)
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "*-graded",
                                  "heldout-secret", ".hypothesis")


def blocks(readme: str) -> list[tuple[str, str]]:
    """(marker, commands) for each ```sh block, the marker "skip", "fails" or ""."""
    found = []
    for markers, commands in BLOCK.findall(readme):
        marker = re.search(r"readme-test: (skip|fails)", markers)
        found.append((marker.group(1) if marker else "", commands))
    return found


def test_the_readme_marks_what_it_does_not_run():
    found = blocks((kit.ROOT / "README.md").read_text())
    assert len(found) >= 10
    assert [commands for marker, commands in found if marker == "skip"] == [
        found[1][1]], "only the test command itself may be skipped"


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """The README's blocks run one after another in a copy of the checkout, as a reader
    pasting them into a shell would (each from the checkout's root)."""
    copy = tmp_path_factory.mktemp("readme") / "gradkit"
    shutil.copytree(kit.ROOT, copy, ignore=LEFT_OUT, symlinks=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("GRADKIT_SECRET", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS")
           and not k.startswith("PYTEST_")}
    runs = []
    for marker, commands in blocks((copy / "README.md").read_text()):
        if marker == "skip":
            continue
        run = subprocess.run(["bash", "-eo", "pipefail", "-c", commands], cwd=copy, env=env,
                             capture_output=True, text=True, timeout=1200)
        runs.append((marker, commands, run))
        if (run.returncode != 0) != (marker == "fails"):
            break
    return copy, runs


def test_every_block_of_the_readme_does_what_it_says(readme_run):
    copy, runs = readme_run
    for marker, commands, run in runs:
        failed = run.returncode != 0
        assert failed == (marker == "fails"), (
            f"{commands}\nexited {run.returncode}\n{run.stdout[-2500:]}\n{run.stderr[-2500:]}")
    assert len(runs) == len(blocks((copy / "README.md").read_text())) - 1


def test_what_the_readme_promises_is_there(readme_run):
    copy, runs = readme_run
    assert (copy / "examples" / "submissions-graded" / "grades.csv").exists()
    assert (copy / "out" / "grades.csv").exists() and (copy / "out" / "flags.csv").exists()
    stub_run = next(run for marker, _, run in runs if marker == "fails")
    assert "not implemented yet" in stub_run.stdout
    solutions = next(run.stdout for _, commands, run in runs if "--student-dir" in commands)
    points, most = re.search(r"total\s+(\d+) / (\d+)", solutions).groups()
    assert points == most != "0"
    collected = list((copy / "course" / "submitted").glob("*/01_activations/01_activations.ipynb"))
    assert len(collected) == 1
    assert (copy / "course-graded" / "grades.csv").read_text().count("\n") == 2
    assert (copy / "try" / "results" / "results.json").exists()
    assert (copy / "private" / "heldout-secret").exists()
