"""Measuring helpers for the reliability tests: peak memory growth, latency percentiles, and
the JSON/printed report every reliability module leaves behind."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kb(field: str) -> int | None:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Linux ≥ 4.0: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakRss:
    """Peak resident-set growth of this process during a `with` block, in bytes.

    Exact on Linux (VmHWM reset through clear_refs); elsewhere the RSS is sampled every
    millisecond, which can miss very short peaks. `method` says which one ran.
    """

    def __init__(self):
        self.growth = 0
        self.method = ""
        self._samples: list[int] = []
        self._stop = threading.Event()

    def __enter__(self):
        self.baseline = (_status_kb("VmRSS") or 0) * 1024
        if _reset_peak():
            self.method = "VmHWM"
        else:
            self.method = "sampled"
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._samples.append((_status_kb("VmRSS") or 0) * 1024)
            time.sleep(0.001)

    def __exit__(self, *exc):
        if self.method == "VmHWM":
            peak = (_status_kb("VmHWM") or 0) * 1024
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._samples, default=self.baseline)
        self.growth = max(0, peak - self.baseline)
        return False


def memory_measurable() -> bool:
    return _status_kb("VmRSS") is not None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def write_report(directory: Path, name: str, data: dict) -> Path:
    """Print the figures (visible with -s or in the report of a failure) and keep them as JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(f"\n[{name}] {json.dumps(data, sort_keys=True)}\n[{name}] written to {path}")
    return path


def report_dir(tmp_path_factory) -> Path:
    return Path(os.environ.get("RELIABILITY_REPORT_DIR") or tmp_path_factory.getbasetemp() / "reliability")
