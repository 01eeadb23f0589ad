"""Which imports a student module may make: numpy and the standard library, nothing else."""
import ast
import sys

ALLOWED_THIRD_PARTY = frozenset({"numpy"})


def is_allowed(module_name: str) -> bool:
    top = module_name.partition(".")[0]
    return top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names


def forbidden_imports(tree: ast.AST) -> list[str]:
    """The top-level names of the modules a parsed source imports that the contract refuses.

    Relative imports count as forbidden: a student module is graded on its own.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")] if node.level else [node.module]
        else:
            continue
        for name in names:
            if name.startswith(".") or not is_allowed(name):
                top = name if name.startswith(".") else name.partition(".")[0]
                if top not in found:
                    found.append(top)
    return found
