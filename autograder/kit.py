"""Where the kit's own folders are: the checkout this package was installed from."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ROOT / "assignments"
SOLUTIONS = ROOT / "solutions"


def assignment_names(folder: Path = ASSIGNMENTS) -> list[str]:
    """`01_activations`, `02_backprop`, ...: every numbered assignment folder."""
    return sorted(p.name for p in folder.glob("[0-9][0-9]_*") if p.is_dir())


def module_name(assignment: str) -> str:
    """The module a student writes for an assignment: `01_activations` -> `activations`."""
    return assignment.partition("_")[2]
