"""Step 1, find the submissions: who the students are and where their modules are.

Takes the submissions folder (a folder or .zip per student, or an nbgrader course);
gives `Submission`s with a fingerprint each, unpacked safely, and per assignment the
student's module source (`.py`, or the code cells of an `.ipynb`). Nothing here runs
student code: `loader` turns source into a module only where the caller runs it, the
sandbox or the student's own `pytest`.
"""
