"""The class's gradebook: a student's row, grades.csv and the end-of-run summary."""
import csv
import io

from autograder.outputs.text import clean, number, totals

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def grade_row(student: str, verdicts: list[dict], notes: list[str],
              max_points: dict[str, int]) -> dict:
    """The student's line in grades.csv and the run summary."""
    table = totals(verdicts, max_points)
    return {"student": student,
            "points": {a: t[0] for a, t in table.items()},
            "max_points": {a: t[1] for a, t in table.items()},
            "total": sum(t[0] for t in table.values()),
            "max_total": sum(t[1] for t in table.values()),
            "failed": sum(t[2] for t in table.values()),
            "notes": [clean(n) for n in notes]}


def csv_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix a single quote)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def grades_csv(rows: list[dict], assignments: list[str]) -> str:
    """One line a student (rows from grade_row): student, points per assignment, total,
    max_total, the totals over `assignments` only."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *assignments, "total", "max_total"])
    for row in sorted(rows, key=lambda r: r["student"]):
        points = [number(row["points"].get(a, 0)) for a in assignments]
        most = sum(row["max_points"].get(a, 0) for a in assignments)
        writer.writerow([csv_cell(row["student"]), *points, number(sum(points)), number(most)])
    return buffer.getvalue()


def summary_lines(rows: list[dict], assignments: list[str], listed: int = 20) -> list[str]:
    """The end-of-run table: mean points per assignment, then the students with problems."""
    count = len(rows)
    lines = [f"{count} student{'s' * (count != 1)} graded"]
    if not count:
        return lines
    width = max(len(a) for a in [*assignments, "total"]) + 2
    lines.append(f"{'assignment':<{width}}{'mean':>8}   {'max':<6}{'full marks':>10}")
    for assignment in assignments:
        means = [r["points"].get(assignment, 0) for r in rows]
        most = max(r["max_points"].get(assignment, 0) for r in rows)
        full = sum(r["points"].get(assignment, 0) >= most > 0 for r in rows)
        lines.append(f"{assignment:<{width}}{sum(means) / count:>8.1f} / {number(most):<6}{full:>10}")
    means = [sum(r["points"].get(a, 0) for a in assignments) for r in rows]
    most = max(sum(r["max_points"].get(a, 0) for a in assignments) for r in rows)
    lines.append(f"{'total':<{width}}{sum(means) / count:>8.1f} / {number(most)}")
    troubled = [r for r in rows if r["notes"]]
    if troubled:
        lines.append(f"{len(troubled)} student{'s' * (len(troubled) != 1)} with problems:")
        for row in troubled[:listed]:
            first = row["notes"][0]
            more = f" (+{len(row['notes']) - 1} more)" if len(row["notes"]) > 1 else ""
            lines.append(f"  {clean(row['student'])}: {first[:120]}{more}")
        if len(troubled) > listed:
            lines.append(f"  ... and {len(troubled) - listed} more")
    return lines
