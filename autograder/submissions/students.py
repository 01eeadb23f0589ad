"""Find the students in a submissions folder and their modules, without trusting anything.

Every entry directly inside SUBMISSIONS/ is one student: a folder (read in place) or a
`.zip` file (unpacked into the grader's work folder). An nbgrader course folder counts as
the SUBMISSIONS/ its `submitted/` folder holds (`submitted/<student>/<assignment>/...`),
so that the whole course, solutions and gradebook included, is the folder the sandbox
hides. An LMS's bulk download (Canvas's or Moodle's zip, or the folder it was unzipped to)
is one student per LMS user, their files picked out of it (`lms.py`); a roster maps the
students to people and adds those who submitted nothing (`roster.py`).
Nothing here executes student code:
a zip is only ever decompressed into regular files, and only its `.py` and `.ipynb`
entries at that (no other file is read by the grader, so no other one is written).
"""
import hashlib
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import kit
from autograder.submissions.discover import ModuleProblem, find_module, read_source

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 100 * 2**20  # what a zip may unpack to, counting the bytes actually read
MAX_RATIO = 100  # uncompressed / compressed, checked once an entry has unpacked past RATIO_FLOOR
RATIO_FLOOR = 2**20
MAX_MODULE_BYTES = 32 * 2**20
EXTRACTED_SUFFIXES = (".py", ".ipynb")
CHUNK = 2**16

# Files that make a folder with a `submitted/` folder an nbgrader course.
NBGRADER_MARKERS = ("nbgrader_config.py", "gradebook.db")

# Names the grader writes directly inside the output folder, beside the students' folders.
RESERVED_IDS = {"grades.csv", "flags.csv", "published", "lms.csv", "index.html"}

# Not allowed in an output folder name: path separators, characters Windows refuses, and
# control, format (bidi overrides), surrogate (undecodable bytes), private-use and
# unassigned characters, which would garble a terminal, a CSV or a file listing.
UNSAFE_CHARACTERS = set('/\\:*?"<>|')
UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

SPECIAL_FILE_TYPES = {stat.S_IFCHR: "a device file", stat.S_IFBLK: "a device file",
                      stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


class Skipped(str):
    """A line saying why an entry is not graded; `student` is the id it would have had, when
    a student by that id may hold grades from an earlier run."""
    student: str | None = None


class SubmissionProblem(Exception):
    """A whole submission cannot be used; the message is one line for the feedback."""


class ClassProblem(Exception):
    """The class cannot be graded as given (two submissions claim one student, a roster
    without ids); the message is one line saying what to do."""


@dataclass(frozen=True)
class Submission:
    student: str  # safe as a folder name: see safe_id
    path: Path  # the folder or the .zip file, as found; an LMS's download; the roster
    kind: str  # "folder", "zip", "members" (files of an LMS's download), "absent" (on the roster only)
    members: tuple[tuple[str, str], ...] = ()  # "members": (file in the download, where it goes)
    person: object = None  # roster.Person: who the LMS and the roster say the student is


def shown(name: str, limit: int = 120) -> str:
    """A name as it can be printed on one line: quoted, unprintable characters escaped,
    shortened past `limit` characters."""
    text = repr(name)
    return text if len(text) <= limit else text[:limit - 4] + "...'"


def safe_id(name: str) -> str:
    """`name` with every character unsafe in a folder name replaced by `_`; "" if nothing is left."""
    text = "".join("_" if c in UNSAFE_CHARACTERS or unicodedata.category(c) in UNSAFE_CATEGORIES
                   else c for c in name).strip()
    if text.startswith("."):
        text = "_" + text[1:]
    return text


def is_nbgrader_course(folder: Path) -> bool:
    """Whether `folder` is an nbgrader course with submissions: a `submitted/` folder
    beside nbgrader's config or gradebook (a class with a student named "submitted" has
    neither)."""
    return (folder / "submitted").is_dir() and any(
        (folder / name).is_file() for name in NBGRADER_MARKERS)


def find_students(submissions_dir: Path, roster: Path | None = None) -> tuple[list[Submission], list[str]]:
    """The students, sorted by id, and one line per entry that is not graded and why.

    The entries are those of `submissions_dir`, or of its `submitted/` folder when it is
    an nbgrader course, or the students of an LMS's download (a zip, or the folder it was
    unzipped to). With a `roster`, each student's id is the roster's, and everyone on it
    without a submission is a student of kind "absent"; ClassProblem when two submissions
    claim one person, or the roster cannot be used.

    Hidden entries (.DS_Store, .git, ...) are skipped silently. A name with characters
    unsafe in a folder name is graded under a normalised id (said in a note); two entries
    whose ids would share an output folder, even on a case-insensitive file system (say
    `alice/` and `alice.zip`), are all left out, since which one to grade is not ours to
    guess.
    """
    from autograder.submissions import lms, roster as rosters  # both build on this module

    download = lms.read_download(submissions_dir)
    if download is not None:
        found, notes = download[1], download[2]
    elif submissions_dir.is_dir():
        found, notes = entries(submissions_dir)
    else:
        raise ClassProblem(f"{submissions_dir} is neither a folder nor Canvas's or Moodle's "
                           "download of an assignment's submissions")
    if roster is not None:
        found = rosters.match(found, rosters.read_roster(roster),
                              lambda person: Submission(safe_id(person.id), roster, "absent", person=person))
    groups: dict[str, list[Submission]] = {}
    for submission in found:
        groups.setdefault(unicodedata.normalize("NFC", submission.student).casefold(), []).append(submission)
    students = []
    for group in groups.values():
        if len(group) == 1:
            students.append(group[0])
        else:
            names = ", ".join(shown(s.path.name if s.kind in ("folder", "zip") else s.student)
                              for s in group)
            note = Skipped(f"{names}: these would share one output folder; none of them was "
                           "graded (keep one, or rename)")
            note.student = group[0].student
            notes.append(note)
    return sorted(students, key=lambda s: s.student), notes


def entries(submissions_dir: Path) -> tuple[list[Submission], list[str]]:
    """A submission per folder or zip of a plain class folder (or nbgrader's submitted/)."""
    notes: list[str] = []
    found: list[Submission] = []
    if is_nbgrader_course(submissions_dir):
        submissions_dir = submissions_dir / "submitted"
    for entry in sorted(submissions_dir.iterdir()):
        name = entry.name
        if name.startswith("."):
            continue
        if entry.is_symlink():
            notes.append(f"{shown(name)}: a symbolic link; not graded (put the submission itself here)")
            continue
        if entry.is_dir():
            kind, stem = "folder", name
        elif entry.is_file() and name.lower().endswith(".zip"):
            kind, stem = "zip", name[:-len(".zip")]
        else:
            notes.append(f"{shown(name)}: neither a folder nor a .zip file; ignored")
            continue
        student = safe_id(stem)
        if not student:
            notes.append(f"{shown(name)}: no usable student id in this name; not graded")
            continue
        if student in RESERVED_IDS:
            notes.append(f"{shown(name)}: the id {student!r} is a file name the grader writes; "
                         "rename the submission")
            continue
        if student != stem:
            notes.append(f"{shown(name)}: graded as {student!r} (characters unsafe in a folder "
                         "name replaced by '_')")
        found.append(Submission(student, entry, kind))
    return found, notes


def fingerprint(submission: Submission) -> str:
    """sha256 of what the submission holds: a zip's bytes, or a folder's regular files
    (relative path and content, symbolic links not followed), so a resumed run can tell
    whether a submission changed since it was graded."""
    digest = hashlib.sha256(submission.kind.encode() + b"\0")
    if submission.kind == "absent":
        return digest.hexdigest()
    if submission.kind == "members":
        from autograder.submissions import lms

        lms.fingerprint(submission, digest)
        return digest.hexdigest()
    if submission.kind == "zip":
        hash_file(digest, submission.path)
        return digest.hexdigest()
    root = submission.path
    for folder, dirs, files in os.walk(root, onerror=lambda error: digest.update(
            b"E" + os.fsencode(error.filename or "") + b"\0")):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            try:
                if not stat.S_ISREG(path.lstat().st_mode):
                    continue
            except OSError:
                continue
            relative = os.fsencode(path.relative_to(root).as_posix())
            digest.update(b"F" + len(relative).to_bytes(8, "big") + relative)
            hash_file(digest, path)
    return digest.hexdigest()


def hash_file(digest, path: Path):
    """The file's length and bytes into `digest` (a file that cannot be read, as such)."""
    inner = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK * 16):
                inner.update(chunk)
                size += len(chunk)
    except OSError as error:
        digest.update(b"U" + str(error.errno).encode())
        return
    digest.update(b"C" + size.to_bytes(8, "big") + inner.digest())


def unpack(submission: Submission, work_dir: Path) -> Path:
    """The folder to look for the student's modules in.

    A folder is read in place. A zip's `.py` and `.ipynb` entries (or the student's files
    of an LMS's download, lms.unpack) are extracted into `work_dir/<student>` (replacing
    what an earlier run left there), as regular files only; anything dubious refuses the
    whole archive with a SubmissionProblem, and nothing is ever written outside `work_dir`.
    A student on the roster only is a SubmissionProblem too: every module is missing.
    """
    if submission.kind == "folder":
        return submission.path
    if submission.kind == "absent":
        raise SubmissionProblem("no submission: on the roster, but nothing of theirs is in the download")
    work_dir.mkdir(parents=True, exist_ok=True)
    destination = work_dir / submission.student
    remove(destination)  # what an earlier run unpacked must not outlive a refused archive
    # Extracted under a hidden name (ids never start with "."), moved into place when whole.
    staging = Path(tempfile.mkdtemp(prefix=f".{submission.student}.unpacking-", dir=work_dir))
    try:
        name = submission.path.name
        label = name if name.isprintable() else shown(name)
        if submission.kind == "members":
            from autograder.submissions import lms

            lms.unpack(submission, staging, f"{submission.student}'s files in {label}")
        else:
            extract(submission.path, staging, label)
        os.replace(staging, destination)
        return destination
    finally:
        remove(staging)


def remove(path: Path):
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def extract(archive_path: Path, destination: Path, label: str):
    def refuse(reason: str):
        raise SubmissionProblem(f"{label}: {reason}; the submission was not unpacked")

    try:
        with open(archive_path, "rb") as stream:
            # The central directory is parsed whole when the archive is opened: read its
            # entry count from the end record first, so that a million tiny entries cost nothing.
            end = zipfile._EndRecData(stream)
            if end is None:
                refuse("not a zip file (or a damaged one)")
            if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ENTRIES:
                refuse(f"more than {MAX_ENTRIES:,} entries")
            with zipfile.ZipFile(stream) as archive:
                entries = archive.infolist()
                if len(entries) > MAX_ENTRIES:
                    refuse(f"more than {MAX_ENTRIES:,} entries")
                plan = [(info, entry_parts(info, refuse)) for info in entries]
                total = 0
                written = set()
                for info, parts in plan:
                    if not parts or not parts[-1].endswith(EXTRACTED_SUFFIXES) or is_directory(info):
                        continue
                    if info.flag_bits & 0x1:
                        refuse(f"entry {shown(info.filename)} is encrypted")
                    if tuple(parts) in written:
                        refuse(f"entry {shown(info.filename)} appears twice")
                    written.add(tuple(parts))
                    total = write_entry(archive, info, destination, parts, total, refuse)
    except SubmissionProblem:
        raise
    except OSError as error:  # said without the grader's own paths
        refuse(f"could not be unpacked ({error.strerror or type(error).__name__})")
    except Exception as error:  # zipfile, zlib, bz2 and lzma each raise their own errors
        refuse(f"not a readable zip file ({type(error).__name__}: {one_line(error)})")


def one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."


def is_directory(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or stat.S_ISDIR(info.external_attr >> 16)


def entry_parts(info: zipfile.ZipInfo, refuse) -> list[str]:
    """The entry's path as folder names below the archive root, or refuse the archive."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) == stat.S_IFLNK:
        refuse(f"entry {shown(name)} is a symbolic link")
    if stat.S_IFMT(mode) in SPECIAL_FILE_TYPES:
        refuse(f"entry {shown(name)} is {SPECIAL_FILE_TYPES[stat.S_IFMT(mode)]}")
    if any(unicodedata.category(c) == "Cc" for c in name):
        refuse(f"entry {shown(name)} has control characters in its name")
    # Zips made on Windows may separate folders with backslashes.
    path = name.replace("\\", "/")
    if path.startswith("/"):
        refuse(f"entry {shown(name)} has an absolute path")
    if re.match(r"[A-Za-z]:", path):
        refuse(f"entry {shown(name)} names a drive")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        refuse(f"entry {shown(name)} leaves the archive")
    return parts


def write_entry(archive, info, destination: Path, parts: list[str], total: int, refuse) -> int:
    """Decompress one entry into a new regular file, counting the bytes as they come out
    (headers can lie); the running total of the archive's extracted bytes is returned."""
    target = destination.joinpath(*parts)
    if os.path.commonpath([destination, target]) != str(destination):
        refuse(f"entry {shown(info.filename)} leaves the archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    # O_EXCL and O_NOFOLLOW: never through a link, never over an existing file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with archive.open(info) as source, os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            total += len(chunk)
            if total > MAX_TOTAL_BYTES:
                refuse(f"its .py and .ipynb files unpack to more than {MAX_TOTAL_BYTES // 2**20} MiB "
                       "(submit only your own code)")
            if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
                refuse(f"entry {shown(info.filename)} is compressed more than {MAX_RATIO}:1 "
                       "(a zip bomb?)")
            out.write(chunk)
    return total


def student_modules(root: Path, names: list[str]) -> dict[str, tuple[str, str] | str]:
    """Per module name: (file name, source text), or the one-line reason it cannot be used
    (missing, two candidates, not UTF-8, not a readable notebook, too large). Nothing is
    imported or executed."""
    assignment_of = {kit.module_name(a): a for a in kit.assignment_names()}
    modules: dict[str, tuple[str, str] | str] = {}
    for name in names:
        try:
            path = find_module(root, name, assignment_of.get(name))
            size = path.stat().st_size
            if size > MAX_MODULE_BYTES:
                raise ModuleProblem(f"{path.name} is {size:,} bytes; a module may be at most "
                                    f"{MAX_MODULE_BYTES:,}")
            modules[name] = (str(path), read_source(path))
        except ModuleProblem as problem:
            modules[name] = str(problem)
        except OSError as error:
            modules[name] = f"{name}.py (or {name}.ipynb) cannot be read: {error.strerror or error}"
        except MemoryError:
            modules[name] = f"{name} is too large to read"
    return modules
