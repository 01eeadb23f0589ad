"""The templates the pages are rendered from (templates/), and Markdown's escaping.

HTML templates autoescape every value. Markdown templates escape every value too, with
`md`: the template's own text is the only markup, a value becomes one only when wrapped in
`Markup` (the kit's own, already escaped). `md` escapes what Markdown would act on, and
only that, so that feedback.md reads as plain text: `sigmoid(x)` and `0.25` stay as they
are, `<script>` becomes `\\<script>` and `[link](url)` becomes `\\[link](url)`.
"""
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from autograder.outputs.text import clean

TEMPLATES = Path(__file__).parent / "templates"
PUNCTUATION = r"""!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"""

# Inline constructs Markdown (CommonMark and GitHub's) acts on, each matched where it would act.
INLINE = re.compile("|".join([
    rf"\\(?=[{PUNCTUATION}])",             # a backslash escaping what follows
    r"`",                                  # code spans
    r"(?<!\s)\*|\*(?!\s)",                 # emphasis: a * touching a non-space
    r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])",  # emphasis: a _ not inside a word
    r"~",                                  # strikethrough
    r"<(?=[A-Za-z/!?])",                   # raw HTML, autolinks
    r"&(?=#?[A-Za-z0-9]+;)",               # entities
    r"(?<=[A-Za-z0-9])@(?=[A-Za-z0-9])",   # e-mail autolinks
    r"(?<=[A-Za-z]):(?=//)",               # URL autolinks (http://)
    r"(?<=www)\.",                          # www. autolinks
]), re.IGNORECASE)
# What would open a block at the start of a line: a heading, a quote, a list item, a
# setext underline.
BLOCK_START = re.compile(r"^(?:#{1,6}(?:\s|$)|>|[-+*](?:\s|$)|\d{1,9}[.)](?:\s|$)|[=-]+\s*$)")


# A [ makes a link or an image only with one of these after it (a reference link needs a
# definition, "[x]: url" at the start of a line, which this text never has unescaped).
LINKING = re.compile(r"\]\(|\]:|\]\[|\[\^")


def md(text) -> str:
    """Literal text in Markdown, one line (text.clean): nothing in it becomes markup, and
    only the characters that would are escaped."""
    text = INLINE.sub(lambda m: "\\" + m.group(0), clean(text))
    if LINKING.search(text) or text.startswith("["):
        text = text.replace("[", "\\[")
    if BLOCK_START.match(text):
        digits = re.match(r"\d+", text)  # "1." opens a list: escape its punctuation, "1\."
        text = f"{digits.group(0)}\\{text[digits.end():]}" if digits else "\\" + text
    return text


def md_cell(text) -> str:
    """Literal text in a Markdown table cell."""
    return md(text).replace("|", "\\|")


def _finalize_markdown(value):
    if isinstance(value, Markup) or isinstance(value, (int, float)):
        return value
    return md(value)


def _environment(markdown: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=not markdown,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True,
                      finalize=_finalize_markdown if markdown else None)
    env.filters["cell"] = lambda value, width=0: Markup(md_cell(value).ljust(width))
    env.filters["code"] = lambda value: Markup(code_span(value))
    env.filters["points"] = points_text
    return env


def code_span(text) -> str:
    """`text` as a Markdown code span, where nothing is markup: fenced by more backticks
    than any run inside it."""
    text = clean(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def points_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


HTML, MARKDOWN = _environment(False), _environment(True)


def render(name: str, model: dict) -> str:
    """Render templates/<name> (its extension chooses the escaping) with `model`."""
    env = MARKDOWN if name.endswith(".md") else HTML
    return env.get_template(name).render(**model)
