"""gradkit's grading engine: one subpackage per step of a batch, each importing only the
ones below it (docs/architecture.md draws the whole picture).

  submissions/   1. find the students and their modules, unpack zips and notebooks safely
  batch/         2. prepare the tests once (runner.prepare: public and held-out examples,
                    call plans, the oracle's memo), then fork workers (pool) that grade
                    one student after another; run.grade_class strings the steps together
  sandbox/       3. run each student module in a confined process forked from a
                    numpy-only zygote; only plain data (wire) comes back
  grading/       4-5. run the tests against it and judge: one verdict per graded test,
                    points settled by one rule (plugin.settle)
  outputs/       6. write grades.csv, flags.csv, results.json and the feedback pages
  integrations/  the same grading from nbgrader, Gradescope, and the stubs
  cli.py         the `autograde` command: parses arguments, calls the steps
"""
