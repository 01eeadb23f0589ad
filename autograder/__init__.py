"""gradkit's grading engine.

A batch run, one module per step (batch.py strings them together, cli.py parses arguments):
  submissions  find the students and their modules, unpack zips safely
  sandbox      load each module in an isolated process forked from a numpy-only zygote
               (zygote.py and server.py are that process's side, wire.py the plain-data
               format between)
  runner       run the assignment tests against it, replaying examples recorded once
               (replay.py) with the oracle memoized (memo.py), in worker processes
               forked from the prepared one (pool.py)
  plugin       judge each @graded test: points, a one-line verdict, a hint
  report       results.json, feedback.html, grades.csv, the summary

A student's own `pytest` run uses the same tests and plugin, with loader.LocalSource in
place of the sandbox; testing.py, checks.py and strategies.py are what the tests import.
nbgrader.py writes the assignments as an nbgrader course whose cells call notebook.py;
gradescope.py packs the kit as a Gradescope autograder that grades each submission as a
class of one.
"""
