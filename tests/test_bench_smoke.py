"""The benchmark harness (bench/, `make bench`) in smoke mode, so it cannot rot.

One tiny image per source type, one round, every job and implementation through the real
worker processes, no target checks. pyvips is a bench-only dependency (requirements-bench.txt):
without it the pyvips implementation is skipped; ours (in process and over HTTP) and Pillow
always run.
"""
from __future__ import annotations

import json

from bench import run
from bench.jobs import JOBS, TARGETS


def test_bench_smoke_runs_every_job_and_implementation(tmp_path):
    out = tmp_path / "results.json"
    rc = run.main(["--smoke", "--quiet", "--out", str(out), "--work", str(tmp_path / "work")])
    result = json.loads(out.read_text())

    assert result["errors"] == [], result["errors"]
    assert rc == 0
    skipped = set(result["meta"]["skipped_impls"])
    assert skipped <= {"pyvips"}
    medians = result["medians"]
    for job in JOBS:
        for impl in job.impls:
            if impl in skipped:
                continue
            entry = medians[job.name][impl]
            assert entry["n"] == 1 and entry["ms"]["median"] > 0, (job.name, impl)
            if job.kind == "render":
                assert entry["out"]["bytes"] > 0 and "peak_mb" in entry, (job.name, impl)
                assert entry["steady_ms"]["median"] > 0 and entry["steady_cpu_ms"]["median"] > 0, (job.name, impl)
    assert result["output_checks"] == []  # every implementation made the same kind of output as ours
    # The throughput test (bench/load.py): ours always, thumbor only where it is installed (make bench).
    load = result["load"]
    servers = {"ours"} | ({"thumbor"} if load["skipped"] is None else set())
    assert set(load["results"]) == servers
    for server in servers:
        for n in load["levels"]:
            for phase in load["phases"]:
                res = load["results"][server][str(n)][phase]
                assert res["errors"] == 0 and res["ok"] > 0 and res["req_s"] > 0, (server, n, phase, res)
    assert "Throughput" in result["table"]
    # Targets are computed but not judged in smoke mode.
    names = [t["target"] for t in result["targets"]]
    assert names[:len(TARGETS)] == [t.name for t in TARGETS]
    assert all(name.startswith("load ") for name in names[len(TARGETS):]) and len(names) > len(TARGETS)
    assert {t["status"] for t in result["targets"]} == {"skipped"}
    assert "Targets" in result["table"]


def test_interleaved_timing_alternates_the_order_and_times_each_step():
    from bench.worker import interleaved

    calls = []
    steps = {name: (lambda n=name: calls.append(("prepare", n)), lambda _, n=name: calls.append(("timed", n)) or n)
             for name in ("a", "b")}
    result = interleaved(steps, n=4)

    timed = [n for kind, n in calls if kind == "timed"]
    assert timed == ["a", "b", "b", "a", "a", "b", "b", "a"]
    # Each step's prepare runs right before it, untimed.
    assert all(calls[i] == ("prepare", calls[i + 1][1]) for i in range(0, len(calls), 2))
    for name in ("a", "b"):
        medians, last = result[name]
        assert last == name and len(medians["repeats_ms"]) == 4 and medians["ms"] >= 0
