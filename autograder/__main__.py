"""`python -m autograder` is the `autograde` command: Gradescope's run_autograder calls it
so, from the kit's folder, to grade with that very kit."""
from autograder.cli import main

main(prog_name="autograde")
