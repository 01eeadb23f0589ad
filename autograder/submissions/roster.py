"""Who the students are: the LMS's roster, matched to the submissions found.

A roster is a CSV file the LMS writes, read as it is:

- Canvas's gradebook export (Grades > Export): `Student` (the sortable name, "Doe, Jane"),
  `ID` (the Canvas user id the "Download Submissions" zip names files by), `SIS User ID`,
  `SIS Login ID`, `Section`; or `LastName`, `FirstName` in place of `Student`.
- Moodle's grading worksheet (the assignment's "Download grading worksheet"): `Identifier`
  ("Participant 123456", the participant id the "Download all submissions" zip names
  folders by), `Full name`, `Email address`, `Status` (which says "... 2 days 3 hours late").
- Moodle's grades export (Grades > Export > Plain text file): `First name`, `Last name`,
  `ID number`, `Email address`.
- Or any CSV with an id column (`id`, `student_id`, ...), a name, an email and a section.

Submissions are matched to people by the LMS's id, else by any id of theirs the submission
is named by (a folder named after their SIS id or email), else by name where the name is
unique: Canvas's download spells a name as the sortable name lowercased with everything
but letters and digits dropped ("doejane"), Moodle's as the full name ("Jane Doe").
"""
import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.submissions.students import ClassProblem, safe_id

# Which column holds what, in each LMS's spelling (compared casefolded, spaces trimmed).
# The id column is the first of ID_COLUMNS the roster has.
ID_COLUMNS = ("id", "identifier", "id number", "student id", "student_id", "sis user id",
              "username", "user id", "user_id")
NAME_COLUMNS = ("student", "full name", "name", "student name")
EMAIL_COLUMNS = ("email address", "email", "e-mail")
SECTION_COLUMNS = ("section", "sections", "group", "groups")
# Other ids a plain submission folder may be named by.
OTHER_ID_COLUMNS = ("sis user id", "sis login id", "id number", "username", "email address", "email")

# Moodle's worksheet says "Participant 123456" (the string 'hiddenuser' then the id), and
# its import strips that prefix the same way (mod/assign/feedback/offline/importgradeslib.php).
PARTICIPANT = re.compile(r"\D*?(\d+)\s*")
# Moodle's Status cell, downloaded: the status lines joined with " - ", one of them
# "<format_time(submitted - due)> late" (mod/assign/gradingtable.php, col_status).
MOODLE_LATE = re.compile(r"((?:\d+ (?:years?|days?|hours?|mins?|secs?) ?)+)late\b")
MOODLE_UNITS = {"year": 365 * 86400, "day": 86400, "hour": 3600, "min": 60, "sec": 1}
# Canvas puts the Student View's fake student in every export, last.
CANVAS_TEST_STUDENT = "Student, Test"

STATUSES = ("submitted", "no submission", "not on the roster")
LMS_CSV_COLUMNS = ["student", "lms", "lms_id", "name", "email", "section", "status", "late"]


class RosterProblem(ClassProblem):
    """The roster, or the class against it, cannot be used; the message is one line."""


@dataclass(frozen=True)
class Person:
    """A student as the LMS and the roster know them. Every field may be empty but one id."""
    id: str = ""  # the roster's id (or, without a roster, the LMS's)
    lms: str = ""  # "canvas" or "moodle", when an LMS's download or roster said so
    lms_id: str = ""  # Canvas user id (or "anon_..."), Moodle participant id
    name: str = ""
    email: str = ""
    section: str = ""
    late: str = ""  # the LMS's words: "LATE" (Canvas's marker), "2 days 3 hours late" (Moodle)
    other_ids: tuple[str, ...] = ()
    status: str = ""  # one of STATUSES, once matched


def name_key(name: str) -> str:
    """A name as both LMSs' downloads and rosters can be compared on: letters and digits,
    casefolded ("Doe, Jane", "doejane" -> "doejane")."""
    return re.sub(r"[\W_]", "", name.casefold())


def late_seconds(late: str) -> float | None:
    """How late Moodle's words say a submission is, in seconds; None when they do not say
    (Canvas's LATE marker, or on time)."""
    match = MOODLE_LATE.search(late)
    if not match:
        return None
    return sum(int(n) * MOODLE_UNITS[unit.rstrip("s")]
               for n, unit in re.findall(r"(\d+) (\w+)", match.group(1)))


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV an LMS wrote: UTF-8 with or without a byte-order mark,
    separated by commas, semicolons (Canvas in locales with a decimal comma) or tabs."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise RosterProblem(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise RosterProblem(f"{path} is not UTF-8 text: export it from the LMS again, "
                            "or save it as CSV UTF-8") from None
    first = text.partition("\n")[0]
    delimiter = max(",;\t", key=lambda d: len(next(csv.reader([first], delimiter=d), [])))
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        raise RosterProblem(f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    return header, [dict(zip(header, row)) for row in rows[1:]]


def column(header: list[str], names) -> str | None:
    """The first column of `header` named one of `names` (casefolded), or None."""
    by_name = {h.casefold(): h for h in reversed(header)}
    return next((by_name[n] for n in names if n in by_name), None)


def read_roster(path: Path) -> list[Person]:
    """The people of a roster, in its order; RosterProblem when it has no id column or
    lists one id twice."""
    header, rows = read_table(path)
    id_column = column(header, ID_COLUMNS)
    if id_column is None:
        raise RosterProblem(f"{path} has no id column (one of ID, Identifier, ID number, "
                            f"id, student_id, SIS User ID, Username); its columns: {', '.join(header)}")
    canvas = id_column == "ID" and column(header, ("section",)) is not None
    moodle_worksheet = id_column.casefold() == "identifier"
    # Moodle's grades export knows no participant id: its people match by name.
    moodle = moodle_worksheet or bool(column(header, ["first name"]) and column(header, ["id number"]))
    name_column, email_column = column(header, NAME_COLUMNS), column(header, EMAIL_COLUMNS)
    section_column, others = column(header, SECTION_COLUMNS), [
        c for c in (column(header, [n]) for n in OTHER_ID_COLUMNS) if c and c != id_column]
    first, last = column(header, ["first name"]), column(header, ["last name"])
    # Canvas's export with "Show first and last names" set: LastName, FirstName.
    canvas_last, canvas_first = column(header, ["lastname"]), column(header, ["firstname"])
    people, seen = [], {}
    for number, row in enumerate(rows, start=2):
        def get(name):
            return (row.get(name) or "").strip() if name else ""

        name = (get(name_column) or " ".join(filter(None, (get(first), get(last))))
                or ", ".join(filter(None, (get(canvas_last), get(canvas_first)))))
        identity = get(id_column)
        # Canvas's "Points Possible" row and its "Manual Posting" row are no students.
        if "Points Possible" in name or not (identity or name) or name == CANVAS_TEST_STUDENT:
            continue
        if moodle_worksheet and (participant := PARTICIPANT.fullmatch(identity)):
            identity = participant.group(1)
        email = get(email_column)
        identity = identity or email
        if not identity:
            raise RosterProblem(f"{path}, row {number}: {name or 'a student'} has no id "
                                f"(column {id_column!r}) and no email")
        if not safe_id(identity):
            raise RosterProblem(f"{path}, row {number}: the id {identity!r} has nothing usable "
                                "in a folder name")
        if identity.casefold() in seen:
            raise RosterProblem(f"{path} lists the id {identity!r} twice (rows "
                                f"{seen[identity.casefold()]} and {number})")
        seen[identity.casefold()] = number
        lms = "canvas" if canvas else "moodle" if moodle else ""
        status = get(column(header, ["status"])) if moodle_worksheet else ""
        late = MOODLE_LATE.search(status)
        people.append(Person(
            id=identity, lms=lms, lms_id=identity if canvas or moodle_worksheet else "",
            name=name, email=email,
            section=get(section_column), late=late.group(0) if late else "",
            other_ids=tuple(v for c in others if (v := get(c)))))
    return people


def match(found: list, people: list[Person], absent) -> list:
    """The submissions `found` with each one's student id and person taken from the roster
    (one matching no one keeps its own id, marked "not on the roster"), then one
    `absent(person)` per person with no submission. RosterProblem when two submissions
    claim one person."""
    by_lms = {p.lms_id: p for p in people if p.lms_id}
    by_id: dict[str, list[Person]] = {}
    for person in people:
        login = person.email.partition("@")[0] if person.email else ""
        for key in {person.id, *person.other_ids, login} - {""}:
            by_id.setdefault(key.casefold(), []).append(person)
    by_name: dict[str, list[Person]] = {}
    for person in people:
        by_name.setdefault(name_key(person.name), []).append(person)

    def lookup(submission) -> Person | None:
        known = submission.person or Person()
        if known.lms_id and known.lms_id in by_lms:
            return by_lms[known.lms_id]
        # An LMS's id means nothing to another LMS's roster (a Moodle participant id is no
        # ID number); a folder may be named by any id of the person's.
        key, anyone = (known.lms_id, False) if known.lms else (submission.student, True)
        if key:
            candidates = [p for p in by_id.get(key.casefold(), ()) if anyone or not p.lms]
            if len(candidates) == 1:
                return candidates[0]
        # By name only where the ids cannot tell: someone the roster knows by another id of
        # the same LMS is someone else of the same name.
        if known.name and len(named := by_name.get(name_key(known.name), [])) == 1:
            person = named[0]
            if not (person.lms_id and known.lms_id and person.lms == known.lms):
                return person
        return None

    claimed: dict[str, object] = {}
    matched = []
    for submission in found:
        known = submission.person or Person(id=submission.student)
        person = lookup(submission)
        if person is None:  # graded all the same; the summary names them
            matched.append(replace(submission, person=replace(known, status="not on the roster")))
            continue
        if person.id in claimed:
            raise RosterProblem(f"two submissions claim {describe(person)}: "
                                f"{shown_entry(claimed[person.id])} and {shown_entry(submission)}; "
                                "keep one (or correct the roster)")
        claimed[person.id] = submission
        merged = replace(person, lms=known.lms or person.lms, lms_id=known.lms_id or person.lms_id,
                         late=known.late or person.late, status="submitted")
        matched.append(replace(submission, student=safe_id(person.id) or submission.student, person=merged))
    for person in people:
        if person.id not in claimed:
            matched.append(absent(replace(person, status="no submission")))
    return matched


def shown_entry(submission) -> str:
    """A submission as the instructor finds it: its entry in the download, or its folder."""
    if submission.members:
        return repr(submission.members[0][0].split("/")[0])
    return repr(submission.path.name)


def describe(person: Person) -> str:
    return f"{person.name} ({person.id})" if person.name else person.id


def people_csv(found: list) -> str:
    """OUT/lms.csv: one line per student of the run, who they are to the LMS (so that
    `autograde export` finds their row in the LMS's gradebook), whether they submitted,
    and whether the LMS said it was late."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LMS_CSV_COLUMNS)
    for submission in sorted(found, key=lambda s: s.student):
        p = submission.person or Person()
        writer.writerow([submission.student, p.lms, p.lms_id, p.name, p.email, p.section,
                         p.status or "submitted", p.late])
    return buffer.getvalue()


def read_people(path: Path) -> dict[str, Person]:
    """student id -> Person, from an OUT/lms.csv; {} when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    return {row["student"]: Person(id=row["student"], lms=row["lms"], lms_id=row["lms_id"],
                                   name=row["name"], email=row["email"], section=row["section"],
                                   status=row["status"], late=row["late"])
            for row in csv.DictReader(io.StringIO(text))}


def summary_lines(found: list, listed: int = 20) -> list[str]:
    """What the run's summary says of the class against the LMS: who submitted late, who
    submitted nothing, which submissions match no one."""
    people = [s.person for s in found if s.person]
    if not people:
        return []
    lines = []
    for status, says in (("no submission", "on the roster submitted nothing (graded 0)"),
                         ("not on the roster", "match no one on the roster")):
        group = [p for p in people if p.status == status]
        if group:
            names = ", ".join(describe(p) for p in group[:listed])
            more = f" and {len(group) - listed} more" if len(group) > listed else ""
            lines.append(f"{len(group)} student(s) {says}: {names}{more}")
    late = [p for p in people if p.late and p.status != "no submission"]
    if late:
        names = ", ".join(f"{describe(p)} [{p.late}]" for p in late[:listed])
        lines.append(f"{len(late)} submission(s) late by the LMS: {names} (see lms.csv; "
                     "`autograde export ... --late-penalty` applies a penalty)")
    return lines
