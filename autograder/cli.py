"""The `autograde` command line: it parses arguments and calls the engine, nothing more."""
from pathlib import Path

import click

from autograder import kit
from autograder.stubs import MarkerError, stub_files


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """gradkit's instructor tools: generate the student stubs, grade a class."""


@main.command()
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=kit.SOLUTIONS, show_default=True, help="the instructor's solutions")
@click.option("--assignments", type=click.Path(file_okay=False, path_type=Path),
              default=kit.ASSIGNMENTS, show_default=True, help="where the stubs go")
@click.option("--check", is_flag=True,
              help="write nothing; exit 1 if a committed stub differs from its solution")
def stubs(solutions: Path, assignments: Path, check: bool):
    """Generate assignments/NN_name/<module>.py from solutions/ (solution regions removed)."""
    try:
        files = stub_files(solutions, assignments)
    except MarkerError as error:
        raise click.ClickException(str(error))
    stale = [path for path, text in files.items()
             if not path.exists() or path.read_text() != text]
    if check:
        for path in stale:
            click.echo(f"out of date: {path}")
        raise SystemExit(1 if stale else 0)
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        click.echo(f"wrote {path}")
    click.echo(f"{len(files)} stubs, {len(stale)} rewritten")
