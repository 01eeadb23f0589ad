"""A student's feedback pages: a self-contained HTML page and the same content as Markdown.

Every string a student can influence is escaped for the format it lands in.
"""
import html
import re

from autograder.outputs.text import clean, hidden_text, number, shown, totals, ungraded_message, withheld_text

MARKDOWN_SPECIAL = re.compile(r"([!-%'-/:;=?@\[-`{-~])")  # ASCII punctuation but & < >

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #1d1d1f; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid #ddd; }
th { background: #f4f4f6; }
td.points, th.points { text-align: right; white-space: nowrap; }
tr.failed td { background: #fff4f3; }
.outcome { font-weight: 600; white-space: nowrap; }
tr.passed .outcome { color: #1a7f37; } tr.failed .outcome { color: #c0392b; }
.notes { background: #fff8e1; border: 1px solid #f0c36d; padding: .6em 1em; border-radius: 4px; }
.hint { color: #555; }
code { font-family: ui-monospace, monospace; font-size: .95em; word-break: break-word; }
"""


def esc(text) -> str:
    return html.escape(clean(text), quote=True)


def feedback_html(student: str, verdicts: list[dict], notes: list[str],
                  max_points: dict[str, int], published: bool = False) -> str:
    """A self-contained page (inline CSS, no script, nothing fetched) that a student can read.
    The content security policy forbids scripts and remote loads even if a future edit
    forgot to escape something. What is hidden until `published`: text.shown."""
    table = totals(verdicts, max_points)
    listed, hidden = shown(verdicts, published)
    total = sum(t[0] for t in table.values())
    most = sum(t[1] for t in table.values())
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" '
           "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Feedback for {esc(student)}</title>", f"<style>{STYLE}</style>", "</head>",
           "<body>", f"<h1>Feedback for {esc(student)}: {number(total)} / {number(most)} points</h1>"]
    if notes:
        out.append('<div class="notes"><strong>Notes on this submission</strong><ul>')
        out += [f"<li>{esc(n)}</li>" for n in notes]
        out.append("</ul></div>")
    out.append('<table><tr><th>Assignment</th><th class="points">Points</th><th>Failing tests</th></tr>')
    for assignment, (points, top, failed, ungraded) in table.items():
        out.append(f'<tr><td><a href="#{esc(assignment)}">{esc(assignment)}</a></td>'
                   f'<td class="points">{number(points)} / {number(top)}</td>'
                   f"<td>{failed + bool(ungraded)}</td></tr>")
    out.append(f'<tr><th>Total</th><th class="points">{number(total)} / {number(most)}</th><th></th></tr>')
    out.append("</table>")
    for assignment, (points, top, _, ungraded) in table.items():
        out.append(f'<h2 id="{esc(assignment)}">{esc(assignment)}: {number(points)} / {number(top)} points</h2>')
        out.append('<table><tr><th>Outcome</th><th>Function</th><th>Property</th>'
                   '<th class="points">Points</th><th>What happened</th></tr>')
        for v in (v for v in listed if v["assignment"] == assignment):
            outcome = "passed" if v["passed"] else "failed"
            detail = "" if v["passed"] else (
                f"{esc(v['message']) or 'failed'}"
                + (f"<br>{esc(withheld_text(v))}" if withheld_text(v) else "")
                + (f'<br><span class="hint">Hint: {esc(v["hint"])}</span>' if v.get("hint") else ""))
            out.append(f'<tr class="{outcome}"><td class="outcome">{outcome}</td>'
                       f"<td><code>{esc(v['function'])}</code></td><td>{esc(v['property'])}</td>"
                       f'<td class="points">{number(v["points"])} / {number(v["max_points"])}</td>'
                       f"<td>{detail}</td></tr>")
        if assignment in hidden:
            count, got, most_hidden = hidden[assignment]
            outcome = "passed" if got == most_hidden else "failed"
            out.append(f'<tr class="{outcome}"><td class="outcome">{outcome}</td><td></td>'
                       f"<td>hidden checks</td><td class=\"points\">{number(got)} / {number(most_hidden)}</td>"
                       f"<td>{esc(hidden_text(count))}</td></tr>")
        if ungraded:
            out.append(f'<tr class="failed"><td class="outcome">failed</td><td></td>'
                       f"<td>ungraded tests</td><td class=\"points\">0 / {number(ungraded)}</td>"
                       f"<td>{esc(ungraded_message(notes))}</td></tr>")
        out.append("</table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def md(text) -> str:
    """Literal text in Markdown: ASCII punctuation backslash-escaped and & < > as entities,
    so nothing a student wrote becomes a link, an image, a table cell or raw HTML."""
    text = MARKDOWN_SPECIAL.sub(r"\\\1", clean(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def feedback_markdown(student: str, verdicts: list[dict], notes: list[str],
                      max_points: dict[str, int], published: bool = False) -> str:
    """The feedback page's content as Markdown."""
    table = totals(verdicts, max_points)
    listed, hidden = shown(verdicts, published)
    total = sum(t[0] for t in table.values())
    most = sum(t[1] for t in table.values())
    out = [f"# Feedback for {md(student)}: {number(total)} / {number(most)} points", ""]
    if notes:
        out += ["**Notes on this submission**", ""] + [f"- {md(n)}" for n in notes] + [""]
    out += ["| Assignment | Points | Failing tests |", "|---|---:|---:|"]
    for assignment, (points, top, failed, ungraded) in table.items():
        out.append(f"| {md(assignment)} | {number(points)} / {number(top)} | {failed + bool(ungraded)} |")
    out.append(f"| **Total** | {number(total)} / {number(most)} | |")
    for assignment, (points, top, _, ungraded) in table.items():
        out += ["", f"## {md(assignment)}: {number(points)} / {number(top)} points", "",
                "| Outcome | Function | Property | Points | What happened |", "|---|---|---|---:|---|"]
        for v in (v for v in listed if v["assignment"] == assignment):
            detail = "" if v["passed"] else md(v["message"] or "failed") + (
                f"<br>{md(withheld_text(v))}" if withheld_text(v) else "") + (
                f"<br>*Hint:* {md(v['hint'])}" if v.get("hint") else "")
            out.append(f"| {'passed' if v['passed'] else '**failed**'} | {md(v['function'])} | "
                       f"{md(v['property'])} | {number(v['points'])} / {number(v['max_points'])} | {detail} |")
        if assignment in hidden:
            count, got, most_hidden = hidden[assignment]
            out.append(f"| {'passed' if got == most_hidden else '**failed**'} | | hidden checks | "
                       f"{number(got)} / {number(most_hidden)} | {md(hidden_text(count))} |")
        if ungraded:
            out.append(f"| **failed** | | ungraded tests | 0 / {number(ungraded)} | "
                       f"{md(ungraded_message(notes))} |")
    return "\n".join(out) + "\n"
