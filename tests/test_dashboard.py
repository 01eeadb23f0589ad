"""The class dashboard, OUT/index.html: the numbers, the order, and nothing a student wrote
(their folder name, their error messages) becoming markup or a link elsewhere."""
from html.parser import HTMLParser

from autograder.outputs.dashboard import dashboard_html, dashboard_model, link

from test_report import HOSTILE, MAXIMA, VERDICTS, verdict

FAILING = verdict(function="sigmoid_grad", prop="is never above 0.25", points=3, passed=False,
                  message="sigmoid_grad(x=[0.0]) returned [0.5]; expected [0.25]",
                  hint="differentiate the sigmoid, not x")


def states():
    return {"alice": (VERDICTS, [], MAXIMA),
            "bob": ([v if v["function"] != "sigmoid_grad" else dict(v, points=3, passed=True, message="")
                     for v in VERDICTS], [], MAXIMA),
            "carol": (VERDICTS[:3], ["backprop: no backprop.py (or backprop.ipynb) found"], MAXIMA),
            "dave": ([*VERDICTS[:1], dict(FAILING, message="sigmoid_grad(x=[1.5]) returned [0.7]; expected [0.15]"),
                      *VERDICTS[2:]], [], MAXIMA)}


def test_the_dashboard_counts_scores_tests_and_shared_errors():
    model = dashboard_model(states())
    assert model["count"] == 4 and model["assignments"] == ["01_activations", "02_backprop"]
    total = next(h for h in model["histograms"] if h["title"] == "Total")
    assert (total["max_points"], total["full"], total["students"]) == (16, 1, 4)
    assert total["mean"] == round((13 + 16 + 7 + 13) / 4, 1)
    worst = model["worst_tests"][0]
    assert (worst["function"], worst["passed"], worst["graded"]) == ("sigmoid_grad", 1, 4)
    assert [s["name"] for s in worst["students"]["shown"]] == ["alice", "carol", "dave"]
    assert worst["hint"] == "differentiate the sigmoid, not x"
    # The same message but for its numbers: one error, three students.
    (shared,) = model["shared"]
    assert shared["count"] == 3 and shared["test_count"] == 1
    assert [s["name"] for s in model["troubled"]] == ["carol"]
    carol = next(s for s in model["students"] if s["name"] == "carol")
    assert (carol["total"], carol["max_total"], carol["cells"][1]["points"]) == (7, 16, 0)


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.links, self.attributes, self.text = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += [name for name, _ in attrs]
        self.links += [value for name, value in attrs if name == "href"]

    def handle_data(self, data):
        self.text.append(data)


def test_a_hostile_student_stays_text_and_links_to_their_own_folder():
    hostile = {HOSTILE: ([dict(FAILING, message=HOSTILE)], [HOSTILE], MAXIMA), **states()}
    page = dashboard_html(hostile)
    parsed = Page()
    parsed.feed(page)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert not any(a.startswith("on") or a == "src" for a in parsed.attributes)
    assert "default-src 'none'" in page
    assert HOSTILE in "".join(parsed.text)
    assert link(HOSTILE) in parsed.links
    # Every link stays in OUT/: a student's own page, or an anchor.
    assert all(href.endswith("/feedback.html") and "/" not in href[:-len("/feedback.html")]
               and ":" not in href for href in parsed.links)
