"""Steps 4 and 5, run the tests and judge: what the assignment tests import, and the
pytest plugin that turns each graded test into a verdict.

Takes a source of student modules (the student's own folder, or the sandbox); gives one
verdict per graded test: points, the property, a one-line message and a hint. `testing`,
`checks` and `strategies` are what test files import; `plugin` judges; `replay` records
Hypothesis's examples once and replays them; `memo` caches the oracle's answers.
"""
import os

# Hypothesis runs every "hypothesis" entry point of the installed packages when imported
# (trio's, where selenium brought it in): a grade must not depend on what else is installed,
# and the grader need not pay for their imports.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")
