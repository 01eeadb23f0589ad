"""Step 6, write the results: grades.csv, results.json (Gradescope's schema), the
feedback pages and the summary, each written atomically. Pure functions of verdicts:
nothing here runs tests or student code.
"""
