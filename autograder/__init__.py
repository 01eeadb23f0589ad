"""gradkit's grading engine.

The flow of a batch run, one module per step:
discover (find submissions and their modules) -> sandbox (load a module in an isolated
process) -> runner (run the assignment tests against it) -> the pytest plugin judges each
test -> report (grades.csv, results.json, feedback pages).
"""
