"""The instructor's secret, from which the held-out examples are drawn (grading/replay.py).

It lives in the kit checkout's `private/` folder, which never reaches `assignments/`, nor a
sandbox, and is kept out of git (.gitignore): a student's copy of the kit has none, and
one they make draws other examples. Created on first use; the same secret gives the same
examples, so the same code always gets the same points; `rotate` draws new ones.
"""
import os
import secrets
from pathlib import Path

from autograder import kit

SECRET = kit.ROOT / "private" / "heldout-secret"


class SecretProblem(Exception):
    """The secret cannot be read or written; the message says what to do."""


def load(path: Path = SECRET) -> bytes:
    """The secret at `path`, created there (readable by its owner alone) if there is none."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return rotate(path)
    except OSError as error:
        raise SecretProblem(f"cannot read the held-out secret {path}: {error.strerror or error}") from None
    if len(text) < 32 or any(c not in "0123456789abcdef" for c in text):
        raise SecretProblem(f"{path} is not a held-out secret (64 hex digits): remove it to "
                            "have a new one made, or restore it from a backup")
    return bytes.fromhex(text)


def rotate(path: Path = SECRET) -> bytes:
    """Write a new secret to `path`: every held-out example changes with it."""
    value = secrets.token_bytes(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(value.hex() + "\n")
        os.replace(temporary, path)  # a reader sees the old secret or the new one
    except OSError as error:
        raise SecretProblem(f"cannot write the held-out secret {path}: {error.strerror or error}") from None
    return value
