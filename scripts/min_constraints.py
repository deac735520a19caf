"""Write pip constraints that pin every dependency to its lower bound in pyproject.toml.

``make test-min`` (scripts/test_min.sh) installs the project with these constraints into its own
venv, so the suite runs against the oldest versions the package metadata allows. A lower bound
that cannot be installed or does not work is raised in pyproject.toml itself, never here.

Usage: ``python scripts/min_constraints.py [--only] [EXTRA ...] > constraints-min.txt``: the
project's dependencies plus those of the named extras (``--only``: the extras' alone); the dev
tools stay unpinned.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_LOWER = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)\s*$")


def lower_bounds(pyproject: Path, extras: list[str], *, only: bool = False) -> dict[str, str]:
    """``{name: lowest version}`` of the dependencies and the named extras' requirements.

    Args:
        pyproject: the project's pyproject.toml.
        extras: names of optional-dependency groups to include (self-references are skipped).
        only: the extras' requirements alone, without the core dependencies.

    Raises:
        ValueError: a requirement that is not of the form ``name>=version`` (the convention here).
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [] if only else list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    pins: dict[str, str] = {}
    for requirement in requirements:
        if requirement.startswith(project["name"]):
            continue
        match = _LOWER.match(requirement)
        if match is None:
            raise ValueError(f"not of the form name>=version: {requirement!r}")
        pins[match.group(1).lower()] = match.group(2)
    return pins


def main(argv: list[str]) -> int:
    """Print the constraints (one ``name==version`` a line) for the extras named in ``argv``."""
    root = Path(__file__).resolve().parent.parent
    only = "--only" in argv
    extras = [a for a in argv if a != "--only"]
    for name, version in sorted(lower_bounds(root / "pyproject.toml", extras, only=only).items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
