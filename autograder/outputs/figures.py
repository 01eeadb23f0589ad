"""What the pages show of a figure (grading/figures.py's plain data): the chart, its legend,
and sentences saying where the student's curve leaves the reference's, for the HTML page
and, in words only, for feedback.md.
"""
import math

from autograder.outputs.charts import colors, departures, group_swatch, line_chart, swatch
from autograder.outputs.text import clean

def unit_of(figure: dict) -> str:
    """What one step along x is called: the x label's first word ("layer", "step")."""
    words = figure.get("x_label", "").split()
    return words[0] if words else "point"


def where(figure: dict, x) -> str:
    value = int(x) if isinstance(x, float) and x.is_integer() else x
    return f"{unit_of(figure)} {value}"


def percent(ratio: float) -> str:
    if math.isinf(ratio):
        return "where yours has no value"
    if ratio >= 10:
        return f"by up to {ratio:.3g} times the reference's value"
    return f"by up to {100 * ratio:.3g} %"


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentences(figure: dict) -> list[dict]:
    """The figure's findings, one sentence each, {"text", "ok"}: True (it matches), False
    (it departs, it could not be drawn), None (neutral). Curves that match are named
    together, each that departs on its own."""
    out, matching = [], []
    away = departures(figure)
    unit = unit_of(figure)
    for series in figure["series"]:
        if series["role"] != "yours":
            continue
        name = clean(series["label"])
        found = away.get(series["group"])
        if found and found["count"] == 0:
            matching.append(clean(series["group"]))
        elif found:
            start = ", where the backward pass starts" if (
                figure.get("order") == "backward" and found["at"] == max(x for x in series["x"] if x is not None)) else ""
            out.append({"text": f"{first_upper(name)} leaves the reference's at {where(figure, found['at'])}"
                                f"{start}: it differs at {found['count']} of {found['of']} {unit}s, "
                                f"{percent(found['worst'])}.", "ok": False})
        if series.get("nonfinite"):
            shown = ", ".join(f"{x:g}" for x in series["nonfinite"][:6])
            more = ", …" if len(series["nonfinite"]) > 6 else ""
            out.append({"text": f"{first_upper(name)} is NaN or infinite at {unit} {shown}{more} "
                                "(× at the top).", "ok": False})
    if matching:
        compared = sum(1 for s in figure["series"] if s["role"] == "yours" and s["group"] in away)
        if len(matching) == compared:
            text = f"Yours match{'es' * (compared == 1)} the reference's at every {unit}."
        elif len(matching) == 1:
            text = f"Your {matching[0]} matches the reference's at every {unit}."
        else:
            text = f"Your {', '.join(matching[:-1])} and {matching[-1]} match the reference's at every {unit}."
        out.insert(0, {"text": text, "ok": True})
    for problem in figure.get("problems", []):
        label = problem.get("label")
        lead = first_upper(clean(label)) if label else "The experiment stopped"
        out.append({"text": f"{lead}: {clean(problem['message'])}", "ok": False})
    for note in figure.get("notes", []):
        out.append({"text": clean(note["text"]), "ok": note.get("ok")})
    return out


def legend(figure: dict) -> list[dict]:
    """One entry per group (its line solid for the student's curve, dashed for the
    reference's), then one per baseline (grey)."""
    groups, entries = [], []
    for series in figure["series"]:
        if series["role"] != "baseline" and series["group"] not in groups:
            groups.append(series["group"])
    table = colors(figure)
    for group in groups:
        entries.append({"swatch": group_swatch(table[group]), "label": clean(group)})
    for series in figure["series"]:
        if series["role"] == "baseline":
            entries.append({"swatch": swatch(series, figure), "label": clean(series["label"])})
    return entries


def shown_figures(figures: list[dict]) -> list[dict]:
    """What the HTML page and feedback.md show of each figure, in assignment order."""
    out = []
    for figure in sorted(figures, key=lambda f: (f["assignment"], f["nodeid"])):
        out.append({"assignment": figure["assignment"], "title": clean(figure["title"]),
                    "caption": clean(figure.get("caption", "")), "svg": line_chart(figure),
                    "legend": legend(figure), "findings": sentences(figure)})
    return out
