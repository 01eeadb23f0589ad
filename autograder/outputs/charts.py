"""Charts as inline SVG, written by hand: a few kilobytes each, no script, no font or file
fetched, so they sit in a page whose Content-Security-Policy forbids all of those.

`line_chart` draws a figure (grading/figures.py's plain data) with the student's curve on
the reference's; `histogram` and `bar` draw the class dashboard's counts. Every text in a
chart is the kit's own (axis labels, numbers), escaped all the same.
"""
import math
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 480, 250
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 40
PALETTE = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2")
BASELINE = "#6b7280"
DEPARTS = "#dc2626"
RTOL = 1e-6  # a student's value within this of the reference's matches it (checks.RTOL)
ATOL = 1e-12
EXTRA_DECADES = 3  # how far beyond the reference's range a log axis follows the student's curve
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
FONT = 'font-family="system-ui, sans-serif"'


def colors(figure: dict) -> dict[str, str]:
    """group -> color, in the order the groups first appear; a group that holds only a
    baseline is grey."""
    groups = []
    for series in figure["series"]:
        if series["group"] not in groups:
            groups.append(series["group"])
    drawn = [g for g in groups if any(s["group"] == g and s["role"] != "baseline" for s in figure["series"])]
    table = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(drawn)}
    return {g: table.get(g, BASELINE) for g in groups}


def color_of(series: dict, table: dict) -> str:
    return BASELINE if series["role"] == "baseline" else table[series["group"]]


def departures(figure: dict) -> dict[str, dict]:
    """group -> where the student's curve leaves the reference's: {"at": the x where it first
    differs, in the order the computation meets them ("backward" starts at the end),
    "count": points that differ, "of": points compared, "worst": the largest relative
    difference, "xs": every x that differs}. Groups whose curves agree everywhere map
    to {"count": 0, ...}."""
    found = {}
    if not figure.get("compare", True):
        return found
    for mine in (s for s in figure["series"] if s["role"] == "yours"):
        reference = next((s for s in figure["series"]
                          if s["role"] == "reference" and s["group"] == mine["group"]), None)
        if reference is None:
            continue
        theirs = dict(zip(reference["x"], reference["y"]))
        mine_at = dict(zip(mine["x"], mine["y"]))
        xs = [x for x in reference["x"] if x is not None]
        differ, worst = [], 0.0
        for x in xs:
            want, got = theirs.get(x), mine_at.get(x)
            if want is None:
                continue
            if got is None:
                differ.append(x)
                worst = math.inf
                continue
            error = abs(got - want)
            if error > ATOL + RTOL * abs(want):
                differ.append(x)
                worst = max(worst, error / abs(want) if want else math.inf)
        ordered = sorted(differ, reverse=figure.get("order") == "backward")
        found[mine["group"]] = {"at": ordered[0] if ordered else None, "count": len(differ),
                                "of": len([x for x in xs if theirs.get(x) is not None]),
                                "worst": worst, "xs": differ}
    return found


class Axis:
    """A linear or log10 scale from data values to pixels."""

    def __init__(self, low: float, high: float, start: float, end: float, log: bool):
        self.low, self.high, self.start, self.end, self.log = low, high, start, end, log

    def value(self, v: float) -> float:
        return math.log10(v) if self.log else v

    def inside(self, v) -> bool:
        if v is None or (self.log and v <= 0):
            return False
        return self.low - 1e-9 <= self.value(v) <= self.high + 1e-9

    def __call__(self, v: float) -> float:
        t = (self.value(v) - self.low) / ((self.high - self.low) or 1.0)
        return self.start + t * (self.end - self.start)

    def clamp(self, v) -> float:
        """The pixel of v, or of the edge it lies beyond."""
        if self.log and v <= 0:
            return self.start
        t = (self.value(v) - self.low) / ((self.high - self.low) or 1.0)
        return self.start + min(max(t, 0.0), 1.0) * (self.end - self.start)


def nice_step(span: float, most: int, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving at most about `most`
    ticks over `span`; a whole number when `whole`."""
    raw = span / max(most, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in ((1, 2, 5, 10) if whole and power >= 1 else (1, 2, 2.5, 5, 10)):
        if factor * power >= raw:
            return max(factor * power, 1.0) if whole else factor * power
    return 10 * power


def linear_ticks(low: float, high: float, most: int = 6, whole: bool = False) -> list[float]:
    step = nice_step(high - low, most, whole)
    first = math.ceil(low / step - 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:g}"


def power_label(exponent: int) -> str:
    return {0: "1", 1: "10"}.get(exponent, "10" + str(exponent).translate(SUPERSCRIPT))


def y_range(figure: dict, log: bool) -> tuple[float, float]:
    """The y axis's span: the reference's and the baseline's curves whole, the student's
    as far as EXTRA beyond them (further points are drawn at the edge, as arrows)."""
    def values(roles):
        return [y for s in figure["series"] if s["role"] in roles for y in s["y"]
                if y is not None and (not log or y > 0)]

    settled = values(("reference", "baseline")) or values(("yours",))
    settled += [g["y"] for g in figure.get("guides", []) if not log or g["y"] > 0]
    theirs = values(("yours",))
    if not settled:
        return (-1.0, 1.0) if log else (0.0, 1.0)
    if log:
        low = math.floor(math.log10(min(settled)) + 1e-9)
        high = math.ceil(math.log10(max(settled)) - 1e-9)
        if theirs:
            low = max(min(low, math.floor(math.log10(min(theirs)) + 1e-9)), low - EXTRA_DECADES)
            high = min(max(high, math.ceil(math.log10(max(theirs)) - 1e-9)), high + EXTRA_DECADES)
        if high - low < 1:
            low, high = low - 1, high + 1
        return float(low), float(high)
    low, high = min(settled), max(settled)
    if theirs:
        span = (high - low) or abs(high) or 1.0
        low = max(min(low, min(theirs)), low - span)
        high = min(max(high, max(theirs)), high + span)
    if 0 <= low < 0.2 * (high - low):
        low = 0.0
    if high == low:
        high = low + 1.0
    step = nice_step(high - low, 5)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step


def line_chart(figure: dict, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """The figure as an inline <svg>: the reference's curves dashed, the baseline's grey,
    the student's solid with a dot per point, red rings where theirs leaves the
    reference's and a dotted line where it first does."""
    log = bool(figure.get("log_y"))
    table = colors(figure)
    xs = [x for s in figure["series"] for x in s["x"] if x is not None]
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    y_low, y_high = y_range(figure, log)
    x_axis = Axis(x_low, x_high, LEFT, width - RIGHT, False)
    y_axis = Axis(y_low, y_high, height - BOTTOM, TOP, log)
    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(figure["title"])}" '
           'class="chart">',
           f"<title>{escape(figure['title'])}</title>",
           f'<rect x="{LEFT}" y="{TOP}" width="{width - LEFT - RIGHT}" '
           f'height="{height - TOP - BOTTOM}" fill="#fcfcfd" stroke="#d4d4d8"/>']
    # y ticks and grid
    if log:
        exponents = range(int(y_low), int(y_high) + 1)
        step = max(1, math.ceil(len(exponents) / 7))
        ticks = [(10.0 ** e, power_label(e)) for e in exponents if (e - int(y_low)) % step == 0]
    else:
        ticks = [(t, fmt(t)) for t in linear_ticks(y_low, y_high)]
    for value, label in ticks:
        y = y_axis(value)
        out.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e7"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" {FONT} '
                   f'fill="#3f3f46">{escape(label)}</text>')
    # x ticks
    whole = all(float(x).is_integer() for x in xs)
    for value in linear_ticks(x_low, x_high, 8, whole):
        if value < x_low - 1e-9 or value > x_high + 1e-9:
            continue
        x = x_axis(value)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{height - BOTTOM}" y2="{height - BOTTOM + 4}" '
                   'stroke="#71717a"/>')
        out.append(f'<text x="{x:.1f}" y="{height - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                   f'{FONT} fill="#3f3f46">{escape(fmt(value))}</text>')
    out.append(f'<text x="{(LEFT + width - RIGHT) / 2:.1f}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12" {FONT} fill="#18181b">{escape(figure.get("x_label", ""))}</text>')
    out.append(f'<text transform="translate(14 {(TOP + height - BOTTOM) / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle" font-size="12" {FONT} fill="#18181b">'
               f'{escape(figure.get("y_label", ""))}</text>')
    for guide in figure.get("guides", []):
        if y_axis.inside(guide["y"]):
            y = y_axis(guide["y"])
            out.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                       'stroke="#a1a1aa" stroke-dasharray="2 3"/>')
            out.append(f'<text x="{width - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" font-size="10" '
                       f'{FONT} fill="#52525b">{escape(guide["label"])}</text>')
    away = departures(figure)
    # Baselines and references first, the student's on top.
    order = {"baseline": 0, "reference": 1, "yours": 2}
    for series in sorted(figure["series"], key=lambda s: order.get(s["role"], 3)):
        color = color_of(series, table)
        dash = ' stroke-dasharray="6 4"' if series["role"] == "reference" else ""
        weight = 2.2 if series["role"] == "yours" else 1.8
        for segment in segments(series, x_axis, y_axis):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            out.append(f'<polyline points="{points}" fill="none" stroke="{color}" '
                       f'stroke-width="{weight}"{dash} stroke-linejoin="round"/>')
        if series["role"] == "yours":
            differ = set(away.get(series["group"], {}).get("xs", []))
            for x, y in zip(series["x"], series["y"]):
                if x is None or y is None:
                    continue
                px, py = x_axis(x), y_axis.clamp(y)
                if not y_axis.inside(y):
                    up = py <= TOP + 0.5
                    tip = py - 6 if up else py + 6
                    out.append(f'<path d="M{px - 4:.1f},{py:.1f} L{px + 4:.1f},{py:.1f} L{px:.1f},{tip:.1f} Z" '
                               f'fill="{color}"/>')
                elif x in differ:
                    out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4.2" fill="white" '
                               f'stroke="{DEPARTS}" stroke-width="2"/>')
                else:
                    out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.3" fill="{color}"/>')
        for x in series.get("nonfinite", []):
            if x is None:
                continue
            px, py = x_axis(x), TOP + 7
            out.append(f'<path d="M{px - 4:.1f},{py - 4:.1f} L{px + 4:.1f},{py + 4:.1f} M{px - 4:.1f},{py + 4:.1f} '
                       f'L{px + 4:.1f},{py - 4:.1f}" stroke="{color}" stroke-width="2"/>')
    for group, where in away.items():
        if where["at"] is not None:
            x = x_axis(where["at"])
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - BOTTOM}" '
                       f'stroke="{DEPARTS}" stroke-width="1.2" stroke-dasharray="2 2"/>')
    out.append("</svg>")
    return Markup("".join(out))


def segments(series: dict, x_axis: Axis, y_axis: Axis) -> list[list[tuple[float, float]]]:
    """The series's points in pixels, split where a value is missing."""
    parts, current = [], []
    for x, y in zip(series["x"], series["y"]):
        if x is None or y is None or (y_axis.log and y <= 0):
            if current:
                parts.append(current)
            current = []
            continue
        current.append((x_axis(x), y_axis.clamp(y)))
    if current:
        parts.append(current)
    return [p for p in parts if len(p) > 1] + [p * 2 for p in parts if len(p) == 1]


def swatch(series: dict, figure: dict) -> Markup:
    """A legend's sample of a series's line."""
    color = color_of(series, colors(figure))
    dash = ' stroke-dasharray="6 4"' if series["role"] == "reference" else ""
    dot = f'<circle cx="14" cy="6" r="2.3" fill="{color}"/>' if series["role"] == "yours" else ""
    return Markup(f'<svg viewBox="0 0 28 12" width="28" height="12" '
                  f'aria-hidden="true"><line x1="1" x2="27" y1="6" y2="6" stroke="{color}" '
                  f'stroke-width="2.2"{dash}/>{dot}</svg>')


def group_swatch(color: str) -> Markup:
    """A legend's sample of a group: the student's line (solid, dotted) over the
    reference's (dashed)."""
    return Markup(f'<svg viewBox="0 0 34 14" width="34" height="14" aria-hidden="true">'
                  f'<line x1="1" x2="33" y1="4" y2="4" stroke="{color}" stroke-width="2.2"/>'
                  f'<circle cx="17" cy="4" r="2.3" fill="{color}"/>'
                  f'<line x1="1" x2="33" y1="11" y2="11" stroke="{color}" stroke-width="1.8" '
                  f'stroke-dasharray="6 4"/></svg>')


def histogram(values: list[float], maximum: float, title: str, bins: int = 10,
              width: int = 300, height: int = 150) -> Markup:
    """How many values fall in each of `bins` equal parts of [0, maximum] (the last part
    closed), as bars with their counts."""
    maximum = maximum or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int(max(value, 0) / maximum * bins), bins - 1)] += 1
    left, right, top, bottom = 14, 14, 16, 34
    tallest = max(counts) or 1
    slot = (width - left - right) / bins
    out = [f'<svg viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}" class="histogram"><title>{escape(title)}</title>',
           f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" stroke="#71717a"/>']
    for i, count in enumerate(counts):
        h = (height - top - bottom) * count / tallest
        x = left + i * slot
        if count:
            out.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{slot - 4:.1f}" '
                       f'height="{h:.1f}" fill="#2563eb" rx="2"/>')
            out.append(f'<text x="{x + slot / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle" '
                       f'font-size="11" {FONT} fill="#18181b">{count}</text>')
    for i in range(bins + 1):
        if i % max(1, bins // 5) == 0:
            x = left + i * slot
            out.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
                       f'{FONT} fill="#3f3f46">{escape(fmt(round(maximum * i / bins)))}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 4}" text-anchor="middle" '
               f'font-size="11" {FONT} fill="#18181b">points (of {escape(fmt(maximum))})</text>')
    out.append("</svg>")
    return Markup("".join(out))
