"""The grades of a run, written into the LMS's own gradebook file for the LMS to import.

The instructor exports the gradebook from the LMS; `autograde export` writes a copy with
one column filled from OUT/ and every other byte as it was, so that the LMS's import
changes that column and nothing else:

- Canvas (Grades > Export, then Grades > Import): the header `Student, ID, SIS User ID,
  SIS Login ID, Section, <custom columns>, <Title (assignment id)>..., <totals>`, a
  "Points Possible" row, maybe a "Manual Posting" row, then a row per student, found by
  `ID`, the Canvas user id (canvas-lms lib/gradebook_exporter.rb and gradebook_importer.rb).
- Moodle (the assignment's "Download grading worksheet", then "Upload grading worksheet"):
  `Identifier` ("Participant 123456"), `Full name`, ..., `Status`, `Grade`, `Maximum grade`,
  ..., `Last modified (grade)`; the import reads Grade by Identifier and refuses a grade
  changed in Moodle since the worksheet was downloaded
  (mod/assign/feedback/offline/importgradeslib.php).

Students of the run are found by the LMS's id OUT/lms.csv records for them (the folder
name when there is none), and in Moodle's worksheet by email too. Rows of students the run
does not hold are left as they were. With a late penalty the penalised score fills the
column and the raw one goes in a new column beside it, which both LMSs' imports pass over.
"""
import math
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.batch import state
from autograder.outputs.files import write_atomic
from autograder.outputs.gradebook import grade_row
from autograder.outputs.text import number
from autograder.submissions import roster
from autograder.submissions.roster import Person

PENALTY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*/\s*day\s*")
# Canvas's importer drops a column whose Points Possible cell says "read only"
# (GradebookImporter#readonly_assignment?), as it does its own totals.
CANVAS_READ_ONLY = "(read only)"
MOODLE_PARTICIPANT = re.compile(r"\D*?(\d+)\s*")


class ExportProblem(Exception):
    """The export cannot be written; the message is one line saying what to do."""


@dataclass
class Graded:
    student: str
    points: float
    maximum: float
    person: Person


def late_penalty(text: str | None) -> float | None:
    """`10%/day` -> 0.1 (the fraction of the score lost per day late), None for no policy."""
    if text is None:
        return None
    match = PENALTY.fullmatch(text)
    if not match or float(match.group(1)) > 100:
        raise ExportProblem(f"--late-penalty {text!r}: give it as a percentage per day, e.g. 10%/day")
    return float(match.group(1)) / 100


def days_late(late: str) -> int:
    """Whole days (begun) late by the LMS's words: Moodle's "1 day 3 hours late" is 2, and
    Canvas's LATE marker, which says no more, is 1."""
    seconds = roster.late_seconds(late)
    if seconds is not None:
        return max(1, math.ceil(seconds / 86400))
    return 1 if late.strip() else 0


def run_grades(out: Path, assignments: list[str]) -> dict[str, Graded]:
    """Every student graded into `out`: their points over `assignments` (every assignment
    graded there when empty) and who they are to the LMS (OUT/lms.csv)."""
    people = roster.read_people(out / "lms.csv")
    rows = [grade_row(path.parent.name, *state.flat(held))
            for path in sorted(out.glob(f"*/{state.STATE}"))
            if (held := state.load(path.parent))["assignments"]]
    if not rows:
        raise ExportProblem(f"no graded student in {out}: give the folder `autograde` wrote")
    held = sorted({a for row in rows for a in row["points"]})
    unknown = [a for a in assignments if a not in held]
    if unknown:
        raise ExportProblem(f"{out} holds no grades of {', '.join(unknown)}; it holds {', '.join(held)}")
    chosen = assignments or held
    return {row["student"]: Graded(row["student"], sum(row["points"].get(a, 0) for a in chosen),
                                   sum(row["max_points"].get(a, 0) for a in chosen),
                                   people.get(row["student"]) or Person(id=row["student"]))
            for row in rows}


# --- the LMS's CSV, byte for byte ---------------------------------------------------------

def read_csv(path: Path) -> tuple[str, str, list[list[tuple[int, int, str]]]]:
    """(text, delimiter, records): every record a list of fields (start, end, value), start
    and end the field's place in `text` with its quotes. Bytes that are not UTF-8 survive
    as they are (surrogateescape), so the copy differs only where it is written to."""
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as error:
        raise ExportProblem(f"cannot read {path}: {error.strerror or error}") from None
    first = text.partition("\n")[0]
    # Canvas writes ";" where the decimal mark is ","; its importer guesses the same way.
    delimiter = max(",;\t", key=first.count)
    return text, delimiter, records(text, delimiter)


def records(text: str, delimiter: str) -> list[list[tuple[int, int, str]]]:
    """RFC 4180 records, quoted fields with doubled quotes and line breaks inside, as
    Python's csv reads them; line ends \\n, \\r\\n or \\r."""
    stop = re.compile(f"[{re.escape(delimiter)}\r\n]")
    rows, row, i, n = [], [], 0, len(text)
    while True:
        start = i
        value = ""
        if i < n and text[i] == '"':
            i += 1
            while True:
                close = text.find('"', i)
                if close < 0:  # unterminated: the rest is the field
                    value, i = value + text[i:], n
                    break
                value += text[i:close]
                if text.startswith('"', close + 1):
                    value, i = value + '"', close + 2
                    continue
                i = close + 1
                break
        found = stop.search(text, i)
        end = found.start() if found else n
        value += text[i:end]
        row.append((start, end, value))
        i = end
        if i < n and text[i] == delimiter:
            i += 1
            continue
        rows.append(row)
        row = []
        i += 2 if text.startswith("\r\n", i) else 1
        if i >= n:
            return rows


def csv_cell(value: str, delimiter: str) -> str:
    if any(c in value for c in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) replaced by its new text, nothing else touched."""
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def shown_number(value: float) -> str:
    """A score as both LMSs' imports read it whatever their locale: a decimal point."""
    return str(number(value))


def write_copy(source: Path, dest: Path | None, text: str) -> Path:
    dest = dest or source.with_name(f"{source.stem}-graded{source.suffix or '.csv'}")
    if dest.resolve() == source.resolve():
        raise ExportProblem(f"--out {dest} is the export itself: write the copy to a new file")
    try:
        write_atomic(dest, text.encode("utf-8", "surrogateescape"))
    except OSError as error:
        raise ExportProblem(f"cannot write {dest}: {error.strerror or error}") from None
    return dest


# --- filling the column ---------------------------------------------------------------------

def fill(text, delimiter, rows, target, find, penalty, raw_header, header_rows=1,
         raw_for=lambda row: "") -> tuple[str, dict]:
    """Fill column `target` of every student row whose student `find(row)` returns
    (a Graded and the LMS's words on lateness), the raw score in a new column after it when
    there is a `penalty`. Returns the new text and what was done, for the summary."""
    edits, done = [], {"filled": [], "late": [], "excused": [], "kept": 0}
    for number_, row in enumerate(rows):
        if len(row) <= target:
            continue
        start, end, value = row[target]
        raw = raw_header if number_ == 0 else raw_for(row) if number_ < header_rows else ""
        found = find(row) if number_ >= header_rows else None
        new = text[start:end]
        if found is not None:
            graded, late = found
            if value.strip().upper() == "EX":  # excused in the LMS: the instructor's call
                done["excused"].append(graded.student)
            else:
                score, days = graded.points, days_late(late) if penalty else 0
                if days:
                    score = graded.points * max(0.0, 1 - penalty * days)
                    done["late"].append(f"{graded.student} ({days} day{'s' * (days != 1)})")
                new, raw = csv_cell(shown_number(score), delimiter), shown_number(graded.points)
                done["filled"].append(graded.student)
        elif number_ >= header_rows:
            done["kept"] += 1
        if new != text[start:end] or penalty is not None:
            beside = delimiter + csv_cell(raw, delimiter) if penalty is not None else ""
            edits.append((start, end, new + beside))
    return splice(text, edits), done


def summary(done: dict, grades: dict[str, Graded], column: str, dest: Path, where: str) -> list[str]:
    lines = [f"filled {column!r} for {len(done['filled'])} student(s); {done['kept']} other row(s) "
             "left as they were"]
    if done["late"]:
        lines.append(f"late penalty applied to {len(done['late'])}: {', '.join(done['late'])} "
                     "(the raw score is in the column beside it)")
    if done["excused"]:
        lines.append(f"kept EX (excused) for {', '.join(done['excused'])}")
    missing = sorted(set(grades) - set(done["filled"]) - set(done["excused"]))
    if missing:
        lines.append(f"{len(missing)} student(s) of the run are not in {where}: {', '.join(missing[:20])}"
                     + (" ..." if len(missing) > 20 else ""))
    lines.append(f"wrote {dest}")
    return lines


def header_names(rows) -> list[str]:
    names = [value.strip() for _, _, value in rows[0]] if rows else []
    if names:
        names[0] = names[0].lstrip("\ufeff").strip()
    return names


def export_canvas(out: Path, gradebook: Path, column: str, dest: Path | None = None,
                  penalty_text: str | None = None, assignments=()) -> list[str]:
    """Write a copy of Canvas's gradebook export with `column` filled from `out`."""
    penalty = late_penalty(penalty_text)
    grades = run_grades(out, list(assignments))
    text, delimiter, rows = read_csv(gradebook)
    names = header_names(rows)
    if "ID" not in names:
        raise ExportProblem(f"{gradebook} is not Canvas's gradebook export (Grades > Export): it "
                            f"has no ID column; its columns: {', '.join(names) or 'none'}")
    if column not in names:
        # "Lab 3" for "Lab 3 (1234)", when only one column is so titled
        titled = [n for n in names if re.sub(r"\s*\(\d+\)$", "", n) == column.strip()]
        if len(titled) != 1:
            raise ExportProblem(f"no column {column!r} in {gradebook}; its columns: {', '.join(names)}")
        column = titled[0]
    target, id_at = names.index(column), names.index("ID")
    possible = next((row for row in rows[1:] if row and "Points Possible" in row[0][2]), None)
    if possible and len(possible) > target and "read only" in possible[target][2]:
        raise ExportProblem(f"{column!r} is read only in Canvas (a total); choose an assignment's column")
    # The rows before the first student: the header, "Points Possible", "Manual Posting".
    header_rows = next((i for i, row in enumerate(rows) if i and len(row) > id_at and row[id_at][2].strip()),
                       len(rows))
    by_id = {(g.person.lms_id or g.student): g for g in grades.values()}

    def find(row):
        graded = by_id.get(row[id_at][2].strip()) if len(row) > id_at else None
        return (graded, graded.person.late) if graded else None

    # Titled without "(id)": nothing may take it for the assignment's own column.
    title = re.sub(r"\s*\(\d+\)$", "", column)
    filled, done = fill(text, delimiter, rows, target, find, penalty,
                        f"{title}: raw score before late penalty", header_rows,
                        lambda row: CANVAS_READ_ONLY if row is possible else "")
    dest = write_copy(gradebook, dest, filled)
    lines = summary(done, grades, column, dest, gradebook.name)
    # Points written as they are: say so when Canvas counts the assignment out of others.
    maxima = {g.maximum for g in grades.values()}
    worth = possible[target][2].strip().replace(",", ".") if possible and len(possible) > target else ""
    if len(maxima) == 1 and re.fullmatch(r"\d+(\.\d+)?", worth) and float(worth) != maxima.pop():
        lines.insert(1, f"note: {column!r} is worth {worth} points in Canvas; the run's points are "
                        f"out of {number(max(g.maximum for g in grades.values()))}, written as they are")
    return lines + ["in Canvas: Grades > Import, choose this file, check the changes and Upload"]


def export_moodle(out: Path, worksheet: Path, dest: Path | None = None,
                  penalty_text: str | None = None, assignments=()) -> list[str]:
    """Write a copy of Moodle's grading worksheet with its Grade column filled from `out`."""
    penalty = late_penalty(penalty_text)
    grades = run_grades(out, list(assignments))
    text, delimiter, rows = read_csv(worksheet)
    names = header_names(rows)
    if "Grade" not in names:
        raise ExportProblem(f"{worksheet} has no Grade column (Moodle's grading worksheet has one "
                            "when the assignment is graded by points); its columns: "
                            f"{', '.join(names) or 'none'}")
    id_name = next((n for n in ("Identifier", "ID") if n in names), None)
    if id_name is None:
        raise ExportProblem(f"{worksheet} has no Identifier column (Moodle's grading worksheet: "
                            f"\"Participant 123456\"); its columns: {', '.join(names)}")
    target, id_at = names.index("Grade"), names.index(id_name)
    email_at = names.index("Email address") if "Email address" in names else None
    status_at = names.index("Status") if "Status" in names else None
    by_id = {(g.person.lms_id or g.student): g for g in grades.values()}
    by_email = {g.person.email.casefold(): g for g in grades.values() if g.person.email}

    def cell(row, at):
        return row[at][2].strip() if at is not None and len(row) > at else ""

    def find(row):
        participant = MOODLE_PARTICIPANT.fullmatch(cell(row, id_at))
        graded = by_id.get(participant.group(1) if participant else cell(row, id_at))
        graded = graded or by_email.get(cell(row, email_at).casefold()) if cell(row, email_at) else graded
        if graded is None:
            return None
        status = roster.MOODLE_LATE.search(cell(row, status_at))  # Moodle's own timestamps
        return graded, status.group(0) if status else graded.person.late

    filled, done = fill(text, delimiter, rows, target, find, penalty, "Grade before late penalty")
    dest = write_copy(worksheet, dest, filled)
    return summary(done, grades, "Grade", dest, worksheet.name) + [
        "in Moodle: the assignment's View all submissions > Grading action: Upload grading "
        "worksheet, choose this file, confirm"]
