"""The class dashboard, OUT/index.html: for the instructor, every student at a glance.

Scores per assignment and in total (histograms), the tests by pass rate (worst first, with
their hint and who fails them), the errors several students share, the students with
problems (timeouts, refused imports, missing modules) and a link to every student's page.
A pure function of the students' states (batch/state.py): written at the end of every run,
so a resumed run refreshes it. It shows everything, the private tests and the held-out
examples too: it is the instructor's page, never a student's.
"""
from urllib.parse import quote

from autograder.outputs.charts import histogram
from autograder.outputs.pages import cause_key
from autograder.outputs.templating import render
from autograder.outputs.text import clean, number, totals

LISTED = 8  # students named in a row before "and N more"
COMMON = 12  # shared errors shown
WORST = 20  # tests listed before the rest are folded away


def link(student: str) -> str:
    """The relative URL of a student's page: their folder name, percent-encoded."""
    return quote(student, safe="") + "/feedback.html"


def students_view(names: list[str]) -> dict:
    names = sorted(names)
    return {"shown": [{"name": clean(n), "href": link(n)} for n in names[:LISTED]],
            "more": max(len(names) - LISTED, 0)}


def dashboard_model(states: dict[str, tuple[list[dict], list[str], dict[str, int]]]) -> dict:
    """states: student -> (verdicts, notes, maxima), as state.flat gives them."""
    tables = {student: totals(verdicts, maxima) for student, (verdicts, _, maxima) in states.items()}
    assignments = sorted({a for table in tables.values() for a in table})
    histograms = []
    for name in [None, *assignments]:
        scores, most = [], 0
        for table in tables.values():
            if name is None:
                scores.append(sum(t[0] for t in table.values()))
                most = max(most, sum(t[1] for t in table.values()))
            elif name in table:
                scores.append(table[name][0])
                most = max(most, table[name][1])
        if not scores:
            continue
        ordered = sorted(scores)
        middle = len(ordered) // 2
        median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        title = "Total" if name is None else name
        histograms.append({"title": title, "svg": histogram(scores, most, f"{title}: points per student"),
                           "mean": round(sum(scores) / len(scores), 1), "median": number(median),
                           "max_points": number(most), "full": sum(s >= most > 0 for s in scores),
                           "students": len(scores)})
    tests: dict[str, dict] = {}
    causes: dict[tuple, dict] = {}
    for student, (verdicts, _, _) in states.items():
        for v in verdicts:
            test = tests.setdefault(v["nodeid"], {
                "assignment": v["assignment"], "function": clean(v["function"]),
                "property": clean(v["property"]), "hint": clean(v.get("hint") or ""),
                "max_points": number(v["max_points"]), "passed": 0, "failing": [],
                "private": v["nodeid"].startswith("private/")})
            if v["passed"]:
                test["passed"] += 1
                continue
            test["failing"].append(student)
            if v.get("waits_for"):
                continue  # not a cause of its own: its function's value tests fail
            key = (v["assignment"], cause_key(v))
            cause = causes.setdefault(key, {"assignment": v["assignment"], "message": clean(v["message"]),
                                            "tests": set(), "students": set()})
            cause["tests"].add(v["nodeid"])
            cause["students"].add(student)
    rows = []
    for test in tests.values():
        graded = test["passed"] + len(test["failing"])
        test["graded"] = graded
        test["rate"] = test["passed"] / graded if graded else 1.0
        test["percent"] = round(100 * test["rate"])
        test["students"] = students_view(test["failing"])
        rows.append(test)
    rows.sort(key=lambda t: (t["rate"], t["assignment"], t["function"], t["property"]))
    shared = sorted((c for c in causes.values() if len(c["students"]) > 1),
                    key=lambda c: (-len(c["students"]), -len(c["tests"]), c["message"]))[:COMMON]
    for cause in shared:
        cause["count"] = len(cause["students"])
        cause["test_count"] = len(cause["tests"])
        cause["students"] = students_view(list(cause["students"]))
    students = []
    for student in sorted(states):
        verdicts, notes, _ = states[student]
        table = tables[student]
        students.append({"name": clean(student), "href": link(student),
                         "total": number(sum(t[0] for t in table.values())),
                         "max_total": number(sum(t[1] for t in table.values())),
                         "cells": [{"points": number(table[a][0]), "max_points": number(table[a][1]),
                                    "full": table[a][0] >= table[a][1]} if a in table else None
                                   for a in assignments],
                         "failed": sum(not v["passed"] for v in verdicts),
                         "notes": [clean(n) for n in notes]})
    return {"count": len(states), "assignments": assignments, "histograms": histograms,
            "worst_tests": [t for t in rows if t["rate"] < 1][:WORST],
            "more_failing": [t for t in rows if t["rate"] < 1][WORST:],
            "passing_tests": [t for t in rows if t["rate"] >= 1],
            "shared": shared, "troubled": [s for s in students if s["notes"]], "students": students}


def dashboard_html(states: dict[str, tuple[list[dict], list[str], dict[str, int]]]) -> str:
    """OUT/index.html: a self-contained page, like the students' (no script, nothing fetched)."""
    return render("dashboard.html", dashboard_model(states))
