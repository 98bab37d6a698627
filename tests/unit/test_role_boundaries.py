"""The layout shows the roles (docs/operations.md, "Roles"): code under
service/frontend/ runs only in the front end, under service/actorhost/ only in the actor
host, and the rest is shared. Neither role's code imports the other's, and shared code
imports neither; only service/main.py puts the roles together."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
ROLES = ("service.frontend", "service.actorhost")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def role_of(path: Path) -> str | None:
    module = ".".join(path.relative_to(SERVICE.parent).with_suffix("").parts)
    return next((r for r in ROLES if module.startswith(r)), None)


def test_no_role_imports_the_other_and_shared_code_imports_neither() -> None:
    crossings = []
    for path in SERVICE.rglob("*.py"):
        if path == SERVICE / "main.py":
            continue  # the composition of the roles
        mine = role_of(path)
        for module in imports(path):
            other = next((r for r in ROLES if module.startswith(r)), None)
            if other is not None and other != mine:
                crossings.append(f"{path.relative_to(SERVICE.parent)} imports {module}")
    assert crossings == []


def test_each_role_has_its_composition_root() -> None:
    for role in ROLES:
        root = SERVICE.parent / role.replace(".", "/") / "root.py"
        names = {n.name for n in ast.parse(root.read_text()).body if hasattr(n, "name")}
        assert {"install", "start"} <= names, role
