"""Security tests: print what they checked (and write it as JSON when asked)."""
from __future__ import annotations

import json
import os

from tests.security.figures import FIGURES


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("security figures")
    for section, values in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{section}: " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))
    target = os.environ.get("SECURITY_FIGURES_JSON")
    if target:
        with open(target, "w") as f:
            json.dump(FIGURES, f, indent=2, sort_keys=True)
        terminalreporter.write_line(f"figures written to {target}")
