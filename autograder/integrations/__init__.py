"""The kit in other tools: nbgrader notebooks, the Gradescope package, the student stubs.

Each builds on the batch (or the plugin) below it and adds no grading of its own.
"""
