"""The kit as a Gradescope autograder: the zip to upload, and the grading of one submission.

Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/) unpacks the
uploaded zip into /autograder/source and runs its `setup.sh` once, as root, when it builds
the autograder's Ubuntu image; then, per submission, it puts the student's uploaded files
in /autograder/submission, runs `run_autograder` from /autograder and shows the student
/autograder/results/results.json.

The zip holds the kit with only the chosen assignments, so that the package grades exactly
those. setup.sh installs it in a virtual environment, editable (the kit finds its
assignments/ and solutions/ beside its code) and with the CPU build of torch.
run_autograder grades the submission as one student of a class with the batch grader,
sandbox and all (`autograde grade-one`), so that Gradescope's score is the one `autograde`
gives the same files.
"""
import io
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from autograder import kit

from autograder.batch import artifact, run, secret

from autograder.outputs.files import write_atomic
from autograder.submissions.discover import SKIPPED_DIRS
from autograder.submissions.students import EXTRACTED_SUFFIXES

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image, with this
# kit unpacked in /autograder/source: install it in /autograder/venv. torch comes from
# PyTorch's CPU index: the grader never uses a GPU, and the CUDA build is gigabytes.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
usable='import ensurepip, sys, venv; sys.exit(sys.version_info < (3, 10))'
if ! python3 -c "$usable" 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
if ! python3 -c "$usable"; then
    echo "gradkit needs Python 3.10 or newer with venv: choose Gradescope's Ubuntu 22.04 base image or a newer one" >&2
    exit 1
fi
python3 -m venv "$root/venv"
"$root/venv/bin/pip" install --no-cache-dir -c "$root/source/constraints.txt" \\
    --extra-index-url https://download.pytorch.org/whl/cpu -e "$root/source"
# The package carries its prepared tests; where this image's Python or libraries differ
# from the machine that built it, they are made again here, once, and not per submission.
export GRADKIT_PREPARED="$root/source/private/prepared"
"$root/venv/bin/python" -m autograder prepare --no-figures
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission: grade the files the student uploaded to
# /autograder/submission as one student, into /autograder/results/results.json.
# AUTOGRADER_ROOT (for /autograder) and GRADKIT_PYTHON (for the interpreter setup.sh
# installed) let it run elsewhere, e.g. in the kit's own tests.
set -euo pipefail
root="$(cd "${AUTOGRADER_ROOT:-/autograder}" && pwd)"
python="${GRADKIT_PYTHON:-$root/venv/bin/python}"
# The package's own secret and prepared tests (setup.sh checked them against this image).
export GRADKIT_SECRET="$root/source/private/heldout-secret" GRADKIT_PREPARED="$root/source/private/prepared"
cd "$root/source"  # `python -m` imports the kit from here, whichever interpreter runs it
exec "$python" -m autograder grade-one "$root/submission" "$root/results/results.json"
"""

SCRIPTS = {"setup.sh": SETUP, "run_autograder": RUN}
KIT_FILES = ("pyproject.toml", "constraints.txt", "README.md")
KIT_PACKAGES = ("autograder", "reference")
# Folders with one subfolder per assignment: only the chosen assignments' are packed.
PER_ASSIGNMENT = ("assignments", "solutions", "private")
# 1980-01-01, zip's epoch: the same kit always gives the same zip.
TIMESTAMP = (1980, 1, 1, 0, 0, 0)
STUDENT = "submission"


def kit_files(assignments: list[str]) -> dict[str, Path]:
    """What the package holds of the kit, by path inside the zip: the files `pip install`
    and the grader need, without caches, build leftovers or hidden files."""
    files = {name: kit.ROOT / name for name in KIT_FILES}
    for package in KIT_PACKAGES:
        files.update(tree(kit.ROOT / package))
    for folder in PER_ASSIGNMENT:
        top = kit.ROOT / folder
        if not top.is_dir():
            continue
        files.update((f"{folder}/{p.name}", p) for p in sorted(top.iterdir())
                     if p.is_file() and packed(p.name))
        for assignment in assignments:
            files.update(tree(top / assignment))
    return files


def packed(name: str) -> bool:
    return not (name.startswith(".") or name in SKIPPED_DIRS or name.endswith(".pyc"))


def tree(folder: Path) -> dict[str, Path]:
    """The files below `folder` worth packing, by their path relative to the kit."""
    files = {}
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if packed(d))
        for name in sorted(names):
            path = Path(parent, name)
            if packed(name) and path.is_file():
                files[path.relative_to(kit.ROOT).as_posix()] = path
    return files


def write_package(zip_path: Path, assignments: list[str], secret_file: Path = secret.SECRET,
                  echo=print) -> int:
    """Write the Gradescope autograder zip for `assignments`; return its number of files.

    It carries the secret (made now if there is none yet), so that Gradescope draws the
    same held-out examples as `autograde`, and the tests prepared with it (artifact.py), so
    that no submission pays for preparing them. The file appears whole or not at all: the
    kit is small enough to zip in memory."""
    with tempfile.TemporaryDirectory(prefix="gradkit-") as work:
        prepared = Path(work) / "prepared"
        # As grade-one grades: no figures.
        run.prepare_tests(run.Options(assignments=assignments, jobs=os.cpu_count() or 1,
                                      secret_file=secret_file, figures=False, prepared=prepared), echo)
        # In the package's own private/prepared/, which setup.sh and run_autograder name.
        packed_as = (artifact.FOLDER / artifact.default_path(assignments, figures=False).name).relative_to(kit.ROOT)
        files = {**kit_files(assignments), secret.SECRET.relative_to(kit.ROOT).as_posix(): secret_file,
                 packed_as.as_posix(): prepared}
        return zip_files(zip_path, files)


def zip_files(zip_path: Path, files: dict[str, Path]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in SCRIPTS.items():
            add(archive, name, text.encode(), 0o755)
        for name, path in sorted(files.items()):
            add(archive, name, path.read_bytes(), 0o644)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(zip_path, buffer.getvalue())
    return len(SCRIPTS) + len(files)


def add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int):
    info = zipfile.ZipInfo(name, TIMESTAMP)
    info.create_system = 3  # Unix, so that unzip restores the mode: run_autograder must be executable
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def grade_submission(folder: Path, results: Path, options: run.Options, echo=print) -> list[str]:
    """Grade the files in `folder` as one student of a class, exactly as `autograde` grades
    a class, and write that student's results.json to `results`; return the summary lines.

    The class is a temporary folder holding a copy of the submission's .py and .ipynb
    files, all the grader reads of it (the batch grader takes no symbolic link for a
    student)."""
    with tempfile.TemporaryDirectory(prefix="gradkit-") as work:
        work = Path(work)
        graded = work / "graded"
        copy_sources(folder, work / "class" / STUDENT)
        summary = run.grade_class(work / "class", graded, options, echo)
        results.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(results, (graded / STUDENT / "results.json").read_text())
    # The summary's "results in" names the temporary folder, gone now.
    return [line.replace(str(graded), str(results)) for line in summary]


def copy_sources(folder: Path, destination: Path):
    """Copy the regular .py and .ipynb files below `folder` (links not followed) into
    `destination`, keeping their relative paths."""
    destination.mkdir(parents=True)
    for parent, dirs, names in os.walk(folder):
        for name in names:
            path = Path(parent, name)
            if name.endswith(EXTRACTED_SUFFIXES) and stat.S_ISREG(path.lstat().st_mode):
                target = destination / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
