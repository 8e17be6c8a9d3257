"""Figures the security tests report (cells checked, examples generated, inputs tried).

Printed in pytest's terminal summary by tests/security/conftest.py and, when the environment
variable SECURITY_FIGURES_JSON names a file, written there as JSON (used by `make fuzz`).
"""
from __future__ import annotations

from collections import defaultdict

FIGURES: dict[str, dict[str, int]] = defaultdict(dict)


def record(section: str, name: str, value: int) -> None:
    FIGURES[section][name] = value


def add(section: str, name: str, value: int = 1) -> None:
    FIGURES[section][name] = FIGURES[section].get(name, 0) + value
