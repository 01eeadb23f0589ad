"""Prepared tests as a file, so that the runs after the first pay for their students alone.

Preparing (runner.prepare) records every test's examples, public and held out, and the plans
of their calls on the solutions, counts the solutions' points and fills the oracle's memo:
6 to 20 s that every run, every one-student regrade and every Gradescope submission paid
again. `save` writes what it made to one file; `load` hands it to a later run with the same
fingerprint: the same tests, figures, solutions, reference, engine and secret
(state.content_keys), figures on or off alike, and the same versions of the libraries that
draw the examples and compute the oracle's values.

The contents are pickled, and unpickling runs code. So the file carries an HMAC keyed with
the instructor's secret, checked before a byte of it is unpickled: a file written by anyone
without the secret (a student, another course's grader) is refused, wherever it lies. It
lives in the kit checkout's private/prepared/ folder, beside the secret, unless told
otherwise (--prepared, or the folder GRADKIT_PREPARED names).
"""
import hashlib
import hmac
import json
import os
import pickle
import sys
from importlib.metadata import version
from pathlib import Path

from autograder import kit

from autograder.batch import state
from autograder.outputs.files import write_atomic

FORMAT = b"gradkit prepared tests, format 1\n"
FOLDER = kit.ROOT / "private" / "prepared"
ENVIRONMENT = "GRADKIT_PREPARED"  # another folder for them (the kit's own tests use one)
# What draws the examples (hypothesis), computes the oracle's values (torch, numpy) and
# runs the tests (pytest, Python): another version may give other examples or values.
LIBRARIES = ("numpy", "torch", "hypothesis", "pytest")


class Unusable(Exception):
    """The file cannot be used; the message says why in one line."""


def default_path(assignments: list[str], figures: bool) -> Path:
    """Where `autograde` keeps the prepared tests of these assignments: one file per choice
    of assignments, so that a run with -a does not replace the whole class's."""
    name = hashlib.sha256(json.dumps([sorted(assignments), figures]).encode()).hexdigest()[:16]
    return Path(os.environ.get(ENVIRONMENT) or FOLDER) / f"{name}.prepared"


def fingerprint(assignments: list[str], secret: bytes, private: Path, figures: bool) -> str:
    """What the prepared tests of `assignments` are made from."""
    made_with = {name: version(name) for name in LIBRARIES}
    made_with["python"] = "%d.%d" % sys.version_info[:2]
    text = json.dumps({"keys": state.content_keys(assignments, secret, private),
                       "figures": figures, "made_with": made_with}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _tag(secret: bytes, header: bytes, payload: bytes) -> bytes:
    # A key of its own, derived from the secret: the secret's other use (seeding the
    # held-out examples) never meets this one.
    key = hashlib.sha256(b"gradkit prepared tests\0" + secret).digest()
    return hmac.new(key, header + b"\n" + payload, hashlib.sha256).hexdigest().encode()


def save(path: Path, contents: dict, fingerprint: str, secret: bytes):
    """Write `contents` (plain data: examples, plans, points, memo) to `path`, whole or not
    at all."""
    payload = pickle.dumps(contents, protocol=pickle.HIGHEST_PROTOCOL)
    header = json.dumps({"fingerprint": fingerprint}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, FORMAT + header + b"\n" + _tag(secret, header, payload) + b"\n" + payload)


def load(path: Path, fingerprint: str, secret: bytes) -> dict | None:
    """The contents saved at `path`; None when there is no file. Raises Unusable for a file
    of another format, one not made with `secret` or changed since, and a stale one."""
    try:
        data = path.read_bytes()  # read once: what is checked is what is unpickled
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Unusable(f"cannot read the prepared tests {path}: {error.strerror or error}") from None
    if not data.startswith(FORMAT):
        raise Unusable(f"{path} is not prepared tests of this gradkit (another format, or another file)")
    header, tag, payload = (data[len(FORMAT):].split(b"\n", 2) + [b"", b""])[:3]
    if not hmac.compare_digest(tag, _tag(secret, header, payload)):
        raise Unusable(f"{path} was not made with this secret, or was changed since: not used")
    try:
        made = json.loads(header)["fingerprint"]
    except (ValueError, KeyError, TypeError):
        raise Unusable(f"{path} has no fingerprint: not used") from None
    if made != fingerprint:
        raise Unusable(f"{path} is stale: the tests, solutions, reference, grader, secret or "
                       "libraries changed since it was made")
    return pickle.loads(payload)
