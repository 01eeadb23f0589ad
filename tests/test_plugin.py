"""The plugin every run of the tests loads: what it does to Hypothesis."""
import importlib

from hypothesis import given, settings
from hypothesis import strategies as st

import autograder.grading.plugin  # noqa: F401


def test_examples_do_not_depend_on_the_constants_of_the_code_loaded(tmp_path, monkeypatch):
    def draws():
        seen = []

        @settings(derandomize=True, database=None, max_examples=200)
        @given(st.floats(-1000, 1000), st.integers(-10**6, 10**6))
        def record(x, n):
            seen.append((x, n))

        record()
        return seen

    before = draws()
    (tmp_path / "odd_constants.py").write_text("A, B, C = 123.456789, -987654, 31.4159\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("odd_constants")
    assert draws() == before
