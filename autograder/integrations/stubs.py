"""Generate the students' stubs from the instructor's solutions.

`solutions/` is the single source of truth. Every region between `### BEGIN SOLUTION` and
`### END SOLUTION` (nbgrader's markers) becomes a `raise NotImplementedError` naming the
function, indented as the marker was; everything else is copied as it stands.
"""
import re
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
DEF = re.compile(r"^\s*def\s+(\w+)\s*\(")


class MarkerError(ValueError):
    pass


def make_stub(source: str, filename: str = "<solution>") -> str:
    out, inside, function = [], False, None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if match := DEF.match(line):
            function = match.group(1)
        if marker == BEGIN:
            if inside:
                raise MarkerError(f"{filename} line {number}: {BEGIN} inside another solution region")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            what = f"{function} is not implemented yet" if function else "not implemented yet"
            out.append(f'{indent}raise NotImplementedError("{what}")\n')
        elif marker == END:
            if not inside:
                raise MarkerError(f"{filename} line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{filename}: {BEGIN} is never closed")
    return "".join(out)


def stub_files(solutions: Path, assignments: Path) -> dict[Path, str]:
    """Every stub the solutions generate: path under `assignments` -> its text."""
    return {assignments / path.relative_to(solutions): make_stub(path.read_text(), str(path))
            for path in sorted(solutions.glob("[0-9][0-9]_*/*.py"))}
