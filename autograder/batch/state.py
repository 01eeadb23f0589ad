"""What a batch keeps of each student, in OUT/<student>/state.json.

One entry per assignment ever graded into OUT/: its verdicts, its maximum, its notes, the
digest of the module graded, the figures drawn from it (None when figures were off) and the
key it was graded under. The key is the submission's
fingerprint and everything else that decides a grade: the assignment's tests (public and
private) and figures, its solution, the reference, the engine's own code, the limits and
the secret.
So a run resumes where it stopped, a run restricted with -a or -s changes only its own
cells, and a change to any of those regrades on the next run.
"""
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from autograder import kit
from autograder.outputs.files import write_atomic
from autograder.submissions.discover import is_missing

STATE = "state.json"
VERSION = 2
# The kit's own code that decides a grade, whichever assignment: a change to any of it
# (a tolerance in grading/checks.py, the reference, the sandbox) regrades everyone.
ENGINE = ("autograder", "reference")


def _digest_files(digest, paths):
    for path in sorted(paths):
        if path.is_file():
            digest.update(path.relative_to(kit.ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


def content_keys(assignments: list[str], secret: bytes, private: Path) -> dict[str, str]:
    """assignment -> the digest of everything the grader holds that decides its grades: its
    tests (public and private), figures and solution, the reference, the engine and the
    secret. What prepared examples (artifact.py) are made of."""
    engine = hashlib.sha256(secret)
    _digest_files(engine, [p for top in ENGINE for p in (kit.ROOT / top).rglob("*.py")
                           if "__pycache__" not in p.parts])
    _digest_files(engine, [kit.ASSIGNMENTS / "conftest.py"])
    keys = {}
    for assignment in assignments:
        digest = engine.copy()
        _digest_files(digest, [*(kit.ASSIGNMENTS / assignment).glob("test_*.py"),
                               *(kit.ASSIGNMENTS / assignment).glob("figures_*.py"),
                               *(kit.SOLUTIONS / assignment).rglob("*.py"),
                               *(private / assignment).rglob("*.py")])
        keys[assignment] = digest.hexdigest()
    return keys


def assignment_keys(assignments: list[str], limits, secret: bytes, private: Path) -> dict[str, str]:
    """assignment -> the key of everything but the submission that decides its grade: its
    content key and the sandbox's limits."""
    limited = json.dumps(asdict(limits), sort_keys=True)
    return {a: hashlib.sha256(f"{limited}:{key}".encode()).hexdigest()
            for a, key in content_keys(assignments, secret, private).items()}


def load(folder: Path) -> dict:
    """A student's state; empty when there is none, or one from an older kit (then every
    assignment is graded again)."""
    try:
        state = json.loads((folder / STATE).read_text())
    except (OSError, ValueError):
        return {"version": VERSION, "assignments": {}}
    if not isinstance(state, dict) or state.get("version") != VERSION:
        return {"version": VERSION, "assignments": {}}
    return state


def stale(state: dict, fingerprint: str, keys: dict[str, str]) -> list[str]:
    """The assignments of `keys` that `state` holds no up-to-date grade of."""
    held = state["assignments"]
    return [a for a, key in keys.items() if held.get(a, {}).get("key") != f"{fingerprint}:{key}"]


def save(folder: Path, state: dict):
    write_atomic(folder / STATE, json.dumps(state))


def flat(state: dict) -> tuple[list[dict], list[str], dict[str, int]]:
    """(verdicts, notes, maxima) over every assignment the state holds, in name order: what
    the pages and the gradebook are made of. A note shared by several assignments (a zip
    refused) is shown once."""
    verdicts, notes, maxima = [], [], {}
    for name in sorted(state["assignments"]):
        entry = state["assignments"][name]
        verdicts += entry["verdicts"]
        notes += [n for n in entry["notes"] if n not in notes]
        maxima[name] = entry["maximum"]
    notes.sort(key=is_missing)
    if state.get("refused"):
        notes.insert(0, state["refused"])
    return verdicts, notes, maxima


def figures(state: dict) -> list[dict]:
    """The figures drawn for every assignment the state holds (grading/figures.py)."""
    return [figure for name in sorted(state["assignments"])
            for figure in state["assignments"][name].get("figures") or []]
