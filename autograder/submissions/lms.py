"""An LMS's bulk download of one assignment's submissions, read as the LMS wrote it.

Canvas's "Download Submissions" (the assignment's page, or the gradebook column's menu) is
one flat zip. Each file is named, by canvas-lms lib/content_zipper.rb (get_filename,
add_upload_submission):

    <name>[_LATE]_<user id>_<attachment id>_<file name>     doejane_LATE_12345_67890_activations.py
    [LATE_]anon_<anonymous id>_<attachment id>_<file name>  when the assignment is anonymous
    <name>[_LATE]_<user id>_text.html (or _link.html)        a text entry or a URL, no file

where <name> is the sortable name ("Doe, Jane") lowercased with every non-word character
dropped, and LATE is Canvas's own judgement against the due date. A file uploaded under a
name the student already used is renamed by Canvas `activations-1.py`, `activations-2.py`:
that suffix is dropped here, so the module is still found.

Moodle's "Download all submissions" (Assignment > View all submissions) is a zip with a
folder per participant and submission plugin, by mod/assign/locallib.php
(download_submissions):

    <full name>_<participant id>_assignsubmission_file_/<the files, as uploaded>
    <full name>_<participant id>_assignsubmission_file_<file name>   with "Download submissions
                                                                      in folders" turned off

the full name with "_" made " " ("Participant" under blind marking), the participant id
being the one the grading worksheet's Identifier column ("Participant 123456") holds.
Moodle's download says nothing of lateness: its worksheet's Status column does.

Either zip is given as SUBMISSIONS as downloaded, or the folder it was unzipped to (with or
without the one folder an unzip tool may wrap it in). Nothing is extracted here: a student's
files become one `Submission` of kind "members", which `unpack` below writes into the work
folder under the names the grader looks for, with the limits a student's own zip has.
"""
import hashlib
import os
import re
import stat
import zipfile
from pathlib import Path

from autograder.submissions import students
from autograder.submissions.roster import Person

MAX_DOWNLOAD_ENTRIES = 200_000  # a class's download; one student's files still count MAX_ENTRIES
CODE_SUFFIXES = (*students.EXTRACTED_SUFFIXES, ".zip")  # a student's own zip is unpacked too

_CANVAS_WHO = (r"(?:(?P<late_anon>LATE_)?(?P<anon>anon_[A-Za-z0-9]+)"  # an anonymous assignment
               r"|(?P<name>.*?)(?P<late>_LATE)?_(?P<user>\d+))")
CANVAS_FILE = re.compile(_CANVAS_WHO + r"_(?P<attachment>\d+)_(?P<file>.+)")
CANVAS_INLINE = re.compile(_CANVAS_WHO + r"_(?P<file>text\.html|link\.html)")
RESUBMITTED = re.compile(r"(?P<stem>.+)-\d+(?P<suffix>\.[^.]+)")
MOODLE_FOLDER = re.compile(r"(?P<name>.*)_(?P<user>\d+)_assignsubmission_[a-z]+_")
MOODLE_FLAT = re.compile(r"(?P<name>.*)_(?P<user>\d+)_assignsubmission_[a-z]+_(?P<file>.+)")

LABELS = {"canvas": 'Canvas\'s "Download Submissions" zip',
          "moodle": 'Moodle\'s "Download all submissions" zip'}
LMS_NAMES = {"canvas": "Canvas", "moodle": "Moodle"}
SKIPPED = ("__MACOSX",)


def listing(path: Path) -> list[str]:
    """The files of a download: a zip's entries, or a folder's files relative to it, as
    "/"-separated paths; hidden ones and macOS's resource forks left out. Links are listed
    (and refused when unpacked), never followed."""
    if path.is_dir():
        if not looks_like_download(path):  # a class folder is not walked file by file
            return []
        names = []
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
            names += [Path(folder, f).relative_to(path).as_posix() for f in sorted(files)
                      if not f.startswith(".")]
            if len(names) > MAX_DOWNLOAD_ENTRIES:
                break
        return names
    try:
        with open(path, "rb") as stream:
            end = zipfile._EndRecData(stream)  # as students.extract: count before parsing
            if end is None or end[zipfile._ECD_ENTRIES_TOTAL] > MAX_DOWNLOAD_ENTRIES:
                return []
            with zipfile.ZipFile(stream) as archive:
                return [i.filename for i in archive.infolist() if not students.is_directory(i)
                        and not any(p.startswith(".") or p in SKIPPED for p in i.filename.split("/"))]
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return []


def looks_like_download(folder: Path) -> bool:
    """Whether a folder's top level (below the one folder an unzip tool may add) is named
    as an LMS's download is: the cheap look before its files are listed."""
    def top(where: Path) -> list[str]:
        return [e.name + ("/" if e.is_dir() else "") for e in where.iterdir()
                if not e.name.startswith(".") and e.name not in SKIPPED and not e.is_symlink()]
    names = top(folder)
    if len(names) == 1 and names[0].endswith("/") and classify(names[0] + "f") is None:
        names = top(folder / names[0])
    kinds = [classify(n + "f" if n.endswith("/") else n) for n in names]
    return any(kinds) and 2 * sum(map(bool, kinds)) >= len(names)


def classify(name: str):
    """(lms, lms id, name, late, target, order) for a file named as an LMS names a
    submission's file, else None. `target` is where the file goes in the student's folder
    ("" when it is no file of theirs: Canvas's text entry); `order` is Canvas's attachment
    id, larger for a later upload."""
    parts = name.split("/")
    if len(parts) == 1:
        # Moodle's first: its "_assignsubmission_" tells, where a file of its own named
        # like "_12_34_" would pass for Canvas's ids.
        if m := MOODLE_FLAT.fullmatch(name):
            return "moodle", m["user"], m["name"], False, m["file"], 0
        if m := CANVAS_FILE.fullmatch(name):
            target = RESUBMITTED.sub(r"\g<stem>\g<suffix>", m["file"])
            return ("canvas", m["anon"] or m["user"], m["name"] or "", bool(m["late"] or m["late_anon"]),
                    target, int(m["attachment"]))
        if m := CANVAS_INLINE.fullmatch(name):
            return ("canvas", m["anon"] or m["user"], m["name"] or "",
                    bool(m["late"] or m["late_anon"]), "", 0)
    elif m := MOODLE_FOLDER.fullmatch(parts[0]):
        return "moodle", m["user"], m["name"], False, "/".join(parts[1:]), 0
    return None


def unwrap(names: list[str]) -> tuple[str, list[str]]:
    """(prefix, names below it): the one folder an unzip tool may put everything in."""
    first = {n.split("/")[0] for n in names}
    if len(first) == 1 and all("/" in n for n in names) and not classify(names[0]):
        prefix = first.pop() + "/"
        return prefix, [n[len(prefix):] for n in names]
    return "", names


def detect(path: Path) -> str | None:
    """"canvas" or "moodle" when `path` is that LMS's download (most of its files named as
    that LMS names them), else None."""
    return read_layout(listing(path))[0]


def read_layout(names: list[str]):
    prefix, inner = unwrap(names)
    kinds = [classify(n) for n in inner]
    for lms in ("canvas", "moodle"):
        count = sum(1 for k in kinds if k and k[0] == lms)
        if count and 2 * count >= len(inner):
            return lms, prefix, list(zip(names, kinds))
    return None, prefix, []


def read_download(path: Path):
    """(lms, submissions, notes) when `path` is an LMS's download, else None: one
    `Submission` of kind "members" per student, their id the LMS's, their `person` what the
    download says of them; a note per file that is no student's."""
    lms, prefix, entries = read_layout(listing(path))
    if lms is None:
        return None
    notes, people, files = [], {}, {}
    for name, kind in entries:
        if kind is None or kind[0] != lms:
            notes.append(f"{students.shown(name)}: not named as {LMS_NAMES[lms]} names a "
                         "submission's file; ignored")
            continue
        _, lms_id, person_name, late, target, order = kind
        known = people.get(lms_id)
        people[lms_id] = Person(id=lms_id, lms=lms, lms_id=lms_id, status="submitted",
                                name=(known.name if known else "") or person_name,
                                late="LATE" if late or (known and known.late) else "")
        mine = files.setdefault(lms_id, {})
        if not target:
            mine[f"\0{name}"] = (name, "", order)  # a text entry: submitted, nothing to grade
            continue
        kept = mine.get(target.casefold())
        if kept:  # activations.py and activations-1.py: the later upload is the one graded
            older, newer = sorted([kept, (name, target, order)], key=lambda e: e[2])
            notes.append(f"{students.shown(older[0])}: an earlier upload of {target} than "
                         f"{students.shown(newer[0])}; ignored")
            mine[target.casefold()] = newer
        else:
            mine[target.casefold()] = (name, target, order)
    found = []
    for lms_id, person in people.items():
        members = tuple(sorted((name, target) for name, target, _ in files[lms_id].values()))
        found.append(students.Submission(students.safe_id(lms_id), path, "members",
                                         members=members, person=person))
    return lms, found, notes


def target_parts(target: str, refuse) -> list[str]:
    parts = [p for p in target.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or re.match(r"[A-Za-z]:", target):
        refuse(f"file {students.shown(target)} leaves the student's folder")
    return parts


def unpack(submission, destination: Path, label: str):
    """Write the student's code files (.py, .ipynb, and those in a .zip of theirs) from the
    download into `destination`, a new empty folder, under the names the grader looks for;
    anything dubious refuses the whole submission with a SubmissionProblem, as a student's
    own zip is refused."""
    def refuse(reason: str):
        raise students.SubmissionProblem(f"{label}: {reason}; the submission was not unpacked")

    wanted = [(n, t) for n, t in submission.members if t.lower().endswith(CODE_SUFFIXES)]
    if len(wanted) > students.MAX_ENTRIES:
        refuse(f"more than {students.MAX_ENTRIES:,} files")
    nested = []
    try:
        if submission.path.is_dir():
            total = 0
            for name, target in wanted:
                source = submission.path.joinpath(*name.split("/"))
                if not stat.S_ISREG(os.lstat(source).st_mode):
                    refuse(f"{students.shown(name)} is not a regular file")
                parts = target_parts(target, refuse)
                if target.lower().endswith(".zip"):
                    nested.append((source, parts))
                else:
                    total = copy_file(source, destination, parts, total, refuse)
        else:
            with zipfile.ZipFile(submission.path) as archive:
                total = 0
                for index, (name, target) in enumerate(wanted):
                    info = archive.getinfo(name)
                    students.entry_parts(info, refuse)  # links, devices, absolute paths, ..
                    if info.flag_bits & 0x1:
                        refuse(f"entry {students.shown(name)} is encrypted")
                    parts = target_parts(target, refuse)
                    if target.lower().endswith(".zip"):  # out of the download first, hidden
                        hidden = [f".nested-{index}.zip"]
                        total = students.write_entry(archive, info, destination, hidden, total, refuse)
                        nested.append((destination / hidden[0], parts))
                    else:
                        total = students.write_entry(archive, info, destination, parts, total, refuse)
        for source, parts in nested:  # lab3.zip unpacks into lab3/
            inner = destination.joinpath(*parts[:-1], parts[-1][:-len(".zip")])
            students.extract(source, inner, label)
            if source.parent == destination and source.name.startswith(".nested-"):
                source.unlink()
    except students.SubmissionProblem:
        raise
    except KeyError:
        refuse("the download changed while it was being graded")
    except OSError as error:
        refuse(f"could not be unpacked ({error.strerror or type(error).__name__})")
    except Exception as error:  # zipfile, zlib, bz2 and lzma each raise their own errors
        refuse(f"not a readable zip file ({type(error).__name__}: {students.one_line(error)})")


def copy_file(source: Path, destination: Path, parts: list[str], total: int, refuse) -> int:
    """Copy one file of an unzipped download into a new regular file, counting its bytes
    against the limit a student's zip has; the running total is returned."""
    target = destination.joinpath(*parts)
    if os.path.commonpath([destination, target]) != str(destination):
        refuse(f"file {students.shown(parts[-1])} leaves the student's folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with open(source, "rb", opener=lambda p, f: os.open(p, f | getattr(os, "O_NOFOLLOW", 0))) as stream, \
            os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        while chunk := stream.read(students.CHUNK):
            total += len(chunk)
            if total > students.MAX_TOTAL_BYTES:
                refuse(f"its .py and .ipynb files are more than "
                       f"{students.MAX_TOTAL_BYTES // 2**20} MiB (submit only your own code)")
            out.write(chunk)
    return total


def fingerprint(submission, digest):
    """Each member's name, where it goes and its bytes into `digest` (decompressed, at most
    the bytes unpack would take: past those, or unreadable, it is said as such)."""
    archive = None
    try:
        if not submission.path.is_dir():
            archive = zipfile.ZipFile(submission.path)
        budget = students.MAX_TOTAL_BYTES
        for name, target in submission.members:
            digest.update(b"M" + name.encode("utf-8", "surrogateescape") + b"\0"
                          + target.encode("utf-8", "surrogateescape") + b"\0")
            if archive is None:
                source = submission.path.joinpath(*name.split("/"))
                if stat.S_ISREG(os.lstat(source).st_mode):
                    students.hash_file(digest, source)
                continue
            inner = hashlib.sha256()
            with archive.open(name) as stream:
                while budget > 0 and (chunk := stream.read(students.CHUNK)):
                    inner.update(chunk)
                    budget -= len(chunk)
            digest.update(b"C" + inner.digest() + (b"+" if budget <= 0 else b""))
    except Exception as error:  # unpack says what is wrong; here it only has to differ
        digest.update(b"E" + type(error).__name__.encode())
    finally:
        if archive is not None:
            archive.close()
