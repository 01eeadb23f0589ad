# The kit's pytest plugin grades every test below: points, one-line verdicts, hints.
pytest_plugins = ["autograder.grading.plugin"]
