"""The runtime part of requirements.lock: what the image installs.

requirements.lock pins the app's dependencies and the dev tools (pytest, ruff, mypy,
matplotlib, ...) together, with hashes, and says after each pin which packages pulled it
in (``# via``). The image gets only the packages reachable from the project's own
``[project] dependencies``: those annotated ``progress-service (pyproject.toml)``, then
every package pulled in by one of them, transitively. Pins and hashes are copied
unchanged, so the image installs exactly what the lock pins (``--require-hashes``).

Usage: python runtime_requirements.py requirements.lock pyproject.toml > runtime.lock
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT_PARENT = "progress-service (pyproject.toml)"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


class LockError(ValueError):
    """requirements.lock cannot be split as it stands (stale or hand-edited)."""


@dataclass(frozen=True)
class Pin:
    name: str  # normalised (PEP 503)
    text: str  # the pin with its hashes, as written in the lock
    parents: frozenset[str]  # normalised names, or ROOT_PARENT / ROOT_PARENT + ":dev"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> list[Pin]:
    """The pins of a ``uv pip compile`` lock with ``# via`` annotations."""
    pins: list[Pin] = []
    name: str | None = None
    body: list[str] = []
    parents: set[str] = set()

    def flush() -> None:
        if name is not None:
            if not parents:
                raise LockError(f"{name} has no '# via' annotation: regenerate the lock")
            pins.append(Pin(name, "\n".join(body).rstrip(" \\") + "\n", frozenset(parents)))

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not line.startswith(" ")):
            continue  # blank lines and the header comments
        match = _PIN.match(line)
        if match:
            flush()
            name, body, parents = normalise(match.group(1)), [line], set()
        elif name is None:
            raise LockError(f"unexpected line before the first pin: {line!r}")
        elif stripped.startswith("--hash="):
            body.append(line)
        elif stripped.startswith("#"):
            via = stripped.lstrip("#").strip()
            via = via.removeprefix("via").strip()
            if via:
                parents.add(via if via.startswith("progress-service") else _parent(via))
        else:
            raise LockError(f"unexpected line in the pin of {name}: {line!r}")
    flush()
    return pins


def _parent(via: str) -> str:
    match = _NAME.match(via)
    if not match:
        raise LockError(f"unreadable '# via' entry: {via!r}")
    return normalise(match.group(1))


def project_dependencies(pyproject: str) -> set[str]:
    deps = tomllib.loads(pyproject)["project"]["dependencies"]
    names = set()
    for dep in deps:
        match = _NAME.match(dep)
        if not match:
            raise LockError(f"unreadable dependency in pyproject.toml: {dep!r}")
        names.add(normalise(match.group(1)))
    return names


def runtime_pins(lock: str, pyproject: str) -> list[Pin]:
    """The pins the app needs at run time, in the lock's order.

    Fails when the lock does not match pyproject.toml's dependencies (a stale lock would
    silently leave a dependency out of the image)."""
    pins = parse_lock(lock)
    roots = {p.name for p in pins if ROOT_PARENT in p.parents}
    wanted = project_dependencies(pyproject)
    if roots != wanted:
        missing, extra = sorted(wanted - roots), sorted(roots - wanted)
        raise LockError(
            f"requirements.lock does not match pyproject.toml's dependencies "
            f"(not in the lock: {missing}; in the lock only: {extra}): regenerate the lock"
        )
    runtime = set(roots)
    grew = True
    while grew:
        before = len(runtime)
        runtime |= {p.name for p in pins if p.parents & runtime}
        grew = len(runtime) != before
    return [p for p in pins if p.name in runtime]


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write(f"usage: {argv[0]} requirements.lock pyproject.toml\n")
        return 2
    try:
        pins = runtime_pins(Path(argv[1]).read_text(), Path(argv[2]).read_text())
    except LockError as exc:
        sys.stderr.write(f"runtime_requirements: {exc}\n")
        return 1
    sys.stdout.write("# requirements.lock, runtime part (runtime/image/runtime_requirements.py)\n")
    sys.stdout.write("".join(p.text for p in pins))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
