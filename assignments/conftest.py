# The kit's pytest plugin grades every test below: points, one-line verdicts, hints.
import importlib.util

import pytest

if importlib.util.find_spec("autograder") is None:
    pytest.exit("this Python has no gradkit, which the tests need: from the kit's folder run\n"
                "    python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e .\n"
                "then run the tests with .venv/bin/python -m pytest (or activate .venv first)",
                returncode=4)

pytest_plugins = ["autograder.grading.plugin"]
