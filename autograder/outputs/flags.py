"""flags.csv: patterns for the instructor to look at, never a grade.

- a test whose public examples a student passes and whose held-out examples they fail:
  the mark of answers fitted to the examples a student could see (or of a bug that only
  some inputs show: the instructor decides);
- a module byte-for-byte the same as another student's.
"""
import csv
import io

from autograder.outputs.gradebook import csv_cell
from autograder.outputs.text import clean


def flags(verdicts: dict[str, list[dict]], modules: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """(student, flag, detail) rows, sorted, from each student's verdicts and the digests of
    their modules (module name -> digest)."""
    rows = []
    for student, mine in verdicts.items():
        heldout = [v["nodeid"] for v in mine if v.get("withheld")]
        if heldout:
            rows.append((student, "passes public examples, fails held-out ones",
                         f"{len(heldout)} test{'s' * (len(heldout) != 1)}: " + ", ".join(heldout)))
    owners: dict[tuple[str, str], list[str]] = {}
    for student, digests in modules.items():
        for module, digest in digests.items():
            owners.setdefault((module, digest), []).append(student)
    for (module, _), group in owners.items():
        if len(group) > 1:
            for student in group:
                others = ", ".join(sorted(s for s in group if s != student))
                rows.append((student, "identical module", f"{module}: the same bytes as {others}"))
    return sorted(rows)


def flags_csv(rows: list[tuple[str, str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "flag", "detail"])
    for row in rows:
        writer.writerow([csv_cell(clean(cell)) for cell in row])
    return buffer.getvalue()


def flag_lines(rows: list[tuple[str, str, str]]) -> list[str]:
    """The summary's word on the flags."""
    if not rows:
        return []
    students = len({student for student, _, _ in rows})
    return [f"{students} student{'s' * (students != 1)} flagged for a look (not graded by it): "
            "see flags.csv"]
