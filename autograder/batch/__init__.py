"""Step 2 and the loop over the class: prepare the tests once, then grade every student.

`run.grade_class` is the batch, step by step; `runner` prepares (collects the tests,
records examples and call plans on the solutions, fills the oracle's memo) and runs the
suite for one student; `pool` forks the workers that grade one student after another;
`progress` shows how far the class is.
"""
