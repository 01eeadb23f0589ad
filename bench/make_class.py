"""Build a class of synthetic students from the kit's known-good and known-bad variants.

Each student takes, per assignment, one of the variants in tests/students/<assignment>/
(correct_* or bug_*), chosen by a seeded generator; a few students are broken on purpose
(a syntax error, an endless loop, a missing module) and some arrive as .zip files. The
same seed always builds the same class.

    python bench/make_class.py examples/submissions --students 8
"""
import io
import random
import shutil
import sys
import zipfile
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
from autograder.kit import assignment_names, module_name  # noqa: E402

VARIANTS = KIT / "tests" / "students"
BROKEN = {
    "syntax_error": "def sigmoid(x)\n    return x\n",
    "endless_loop": "import numpy as np\n\n\ndef sigmoid(x):\n    while True:\n        pass\n",
}


def variants(assignment: str) -> dict[str, list[Path]]:
    found = sorted((VARIANTS / assignment).glob("*/"))
    return {"correct": [p for p in found if p.name.startswith("correct")],
            "bug": [p for p in found if p.name.startswith("bug")]}


def student_files(rng: random.Random, kind: str) -> dict[str, str]:
    """file name -> source for one student of `kind`: correct, buggy or broken."""
    files = {}
    for assignment in assignment_names():
        options = variants(assignment)
        pool = options["correct"] if kind == "correct" or not options["bug"] else (
            options["bug"] if rng.random() < 0.5 else options["correct"])
        if not pool:
            continue
        module = module_name(assignment)
        files[f"{module}.py"] = (rng.choice(pool) / f"{module}.py").read_text()
    if kind == "broken":
        problem = rng.choice(sorted(BROKEN) + ["missing_module"])
        if problem == "missing_module":
            files.pop(rng.choice(sorted(files)))
        else:
            files["activations.py"] = BROKEN[problem]
    return files


def write_student(folder: Path, name: str, files: dict[str, str], as_zip: bool):
    if as_zip:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for filename, text in files.items():
                archive.writestr(f"{name}/{filename}", text)
        (folder / f"{name}.zip").write_bytes(buffer.getvalue())
    else:
        (folder / name).mkdir()
        for filename, text in files.items():
            (folder / name / filename).write_text(text)


KINDS = ["correct", "buggy", "buggy", "correct", "broken"]


def make_class(folder: Path, students: int, seed: int = 0, kinds: list[str] = KINDS):
    """`students` students cycling through `kinds`; every 4th one handed in as a zip."""
    rng = random.Random(seed)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i in range(students):
        kind = kinds[i % len(kinds)]
        write_student(folder, f"student{i + 1:03d}_{kind}", student_files(rng, kind), as_zip=i % 4 == 3)


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_class(args.folder, args.students, args.seed)
    print(f"wrote {args.students} students to {args.folder}")
