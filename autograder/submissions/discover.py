"""Find a student's modules by file name, at any depth, and read their source.

A module `name` is `name.py` or the code cells of `name.ipynb`; failing those, the one
notebook in a folder named after its assignment (`01_activations/01_activations.ipynb`:
nbgrader names a notebook after the assignment, not the module). Nothing else in a
submission is read, executed or put on sys.path.
"""
import json
from pathlib import Path

SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git"}


class ModuleProblem(Exception):
    """A module cannot be used as submitted; the message is one line for the feedback."""


def candidates(root: Path, name: str, assignment: str | None = None) -> list[Path]:
    """The files that may hold module `name`: every `name.py` and `name.ipynb` below `root`
    or, when there is none, every notebook directly inside a folder named `assignment`
    (`root` itself included)."""
    wanted = {f"{name}.py", f"{name}.ipynb"}
    found, in_assignment_folder = [], []
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIPPED_DIRS:
                    stack.append(entry)
            elif entry.name in wanted and entry.is_file():
                found.append(entry)
            elif folder.name == assignment and entry.suffix == ".ipynb" and entry.is_file():
                in_assignment_folder.append(entry)
    return sorted(found or in_assignment_folder)


MISSING_END = ".ipynb) found"


def missing(name: str) -> str:
    return f"no {name}.py (or {name}{MISSING_END}"


def is_missing(note: str) -> bool:
    """Whether a note only says that a module is missing: the least telling of notes, shown
    after any other (a syntax error explains more than the modules left out)."""
    return note.endswith(MISSING_END)


def find_module(root: Path, name: str, assignment: str | None = None) -> Path:
    found = candidates(root, name, assignment)
    if not found:
        raise ModuleProblem(missing(name))
    if len(found) > 1:
        listed = ", ".join(str(p.relative_to(root)) for p in found)
        raise ModuleProblem(f"two or more files for {name}: {listed}; keep exactly one")
    return found[0]


def read_source(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ModuleProblem(f"{path.name} is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    if path.suffix != ".ipynb":
        return text
    return notebook_code(text, path.name)


def locked(cell: dict) -> bool:
    return (cell.get("metadata") or {}).get("nbgrader", {}).get("locked") is True


def notebook_code(text: str, filename: str) -> str:
    """The code cells in order; IPython magics and shell escapes become comments.

    Cells nbgrader locks (the kit's test cells in a course from `autograde nbgrader`) are
    the grader's, not the student's: they are left out."""
    try:
        cells = json.loads(text)["cells"]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                   for c in cells if c.get("cell_type") == "code" and not locked(c)]
        if not all(isinstance(source, str) for source in sources):
            raise TypeError("a code cell's source is not text")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ModuleProblem(f"{filename} is not a readable Jupyter notebook") from None
    lines = []
    for source in sources:
        for line in source.splitlines():
            lines.append("# " + line if line.lstrip().startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines)
