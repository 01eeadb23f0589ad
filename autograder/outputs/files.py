"""Writing an output file so that no reader, and no resumed run, ever sees half of it."""
import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, text: str | bytes):
    """Replace `path` with `text` (UTF-8, or bytes as they are) all at once: a reader, or a
    run resumed after a crash, sees the old file or the new one, never half of one. The
    folder must exist."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(text.encode("utf-8") if isinstance(text, str) else text)
            os.fchmod(stream.fileno(), 0o666 & ~_UMASK)  # as open() would create it
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:
        folder = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(folder)  # the rename itself survives a crash
    except OSError:
        pass
    finally:
        os.close(folder)
