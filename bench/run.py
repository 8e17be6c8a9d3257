"""Benchmark: our renderer vs plain Pillow and libvips (pyvips), in one interleaved run.

    python -m bench.run [--rounds N] [--out bench/results.json] [--only REGEX] [--strict]
    python -m bench.run --smoke          # tiny images, one round, no targets (tests/test_bench_smoke.py)

Every measurement is a fresh process (bench/worker.py) running one job with one
implementation; the run goes round-robin over jobs and implementations (the order of the
implementations rotates each round) for several rounds, and reports medians, ratios of medians
measured in the same run, and each target with PASS/FAIL. After the rounds, the throughput test
(bench/load.py: the local server against thumbor, N = 1, 2, 4, 8 clients) runs unless --only
excludes the name `load`. See docs/performance.md.

Environment: BENCH_ROUNDS, BENCH_OUT, BENCH_WORK (fixtures and data; default bench/.work),
BENCH_JOBS (a regular expression over job names, as --only),
BENCH_STRICT=1 (exit 1 when a target fails).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from bench import images, load as loadtest  # noqa: E402
from bench.jobs import FULL_FIXTURES, INFO_RATIOS, JOBS, MB, SMOKE_FIXTURES, TARGETS  # noqa: E402

DEFAULT_ROUNDS = 7
WORKER_TIMEOUT = 900


# --- environment ---------------------------------------------------------------------------

def child_env(data_dir: str) -> dict:
    env = dict(os.environ)
    env.update({"DATA_DIR": data_dir, "STORAGE": "local", "VIPS_CONCURRENCY": "1", "PYTHONUNBUFFERED": "1"})
    # No AWS configuration may leak into the local adapters.
    for name in ("AWS_ENDPOINT_URL", "TABLE_PREFIX", "SOURCES_BUCKET", "RENDERS_BUCKET"):
        env.pop(name, None)
    return env


def probe(python: str, env: dict) -> dict:
    """Versions as the workers see them (the bench may run before pyvips is installed)."""
    code = (
        "import json, sys, PIL\n"
        "out = {'python': sys.version.split()[0], 'pillow': PIL.__version__}\n"
        "try:\n"
        "    import pyvips\n"
        "    out['pyvips'] = pyvips.__version__\n"
        "    out['libvips'] = '%d.%d.%d' % (pyvips.version(0), pyvips.version(1), pyvips.version(2))\n"
        "    out['vips_concurrency'] = pyvips.concurrency_get() if hasattr(pyvips, 'concurrency_get') else None\n"
        "except Exception as e:\n"
        "    out['pyvips_error'] = '%s: %s' % (type(e).__name__, e)\n"
        "from PIL import features\n"
        "out['pillow_features'] = {k: features.version(k) for k in ('jpg', 'webp', 'avif', 'zlib', 'libimagequant')}\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise SystemExit(f"probing the Python environment failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(ln.split()[1] for ln in f if ln.startswith("MemTotal:"))) * 1024
    except (OSError, StopIteration):
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": affinity, "cpu_count": os.cpu_count(), "cpu_model": cpu or platform.processor(),
            "memory_bytes": mem, "kernel": platform.release(), "platform": platform.platform()}


def git_info() -> dict:
    def git(*args):
        res = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return res.stdout.strip() if res.returncode == 0 else None

    status = git("status", "--porcelain") or ""
    watched = ("chalicelib/", "app.py", "localserver.py")
    return {"commit": git("rev-parse", "HEAD"),
            "changed": [ln[3:] for ln in status.splitlines() if ln[3:].startswith(watched)]}


# --- running -------------------------------------------------------------------------------

def run_worker(python: str, env: dict, args: list[str]) -> list[dict]:
    res = subprocess.run([python, "-m", "bench.worker", *args], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=WORKER_TIMEOUT)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"worker {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return [json.loads(ln) for ln in lines]


def prepare(work: str, smoke: bool, python: str, log) -> tuple[dict, dict, str]:
    """Fixtures (generated once, cached), a fresh data directory, and the setup state."""
    fixtures_dir = os.path.join(work, "fixtures")
    plan_fixtures = {}
    for fx in (SMOKE_FIXTURES if smoke else FULL_FIXTURES):
        started = time.perf_counter()
        existed = os.path.exists(os.path.join(fixtures_dir, fx.filename))
        path = images.ensure(fx, fixtures_dir)
        if not existed:
            log(f"generated {fx.filename} ({os.path.getsize(path) / MB:.1f} MB) "
                f"in {time.perf_counter() - started:.1f} s")
        plan_fixtures[fx.name] = {"path": path, "kind": fx.kind, "frames": fx.frames, "bytes": os.path.getsize(path)}
    run_dir = os.path.join(work, "run-smoke" if smoke else "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    data_dir = os.path.join(run_dir, "data")
    os.makedirs(data_dir)
    plan_path, state_path = os.path.join(run_dir, "plan.json"), os.path.join(run_dir, "state.json")
    with open(plan_path, "w") as f:
        json.dump({"data_dir": data_dir, "fixtures": plan_fixtures, "smoke": smoke}, f)
    env = child_env(data_dir)
    res = subprocess.run([python, "-m", "bench.worker", "--setup", plan_path, "--state", state_path],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    if res.returncode != 0:
        raise SystemExit(f"setup failed:\n{res.stderr[-3000:]}")
    with open(state_path) as f:
        state = json.load(f)
    return state, env, state_path


def schedule(jobs: list, rounds: int, skipped: set) -> list[list[tuple[str, str]]]:
    """Per round: every (job, impl), jobs in order, implementations rotated by the round number."""
    out = []
    for r in range(rounds):
        tasks = []
        for job in jobs:
            impls = [i for i in job.impls if i not in skipped]
            if not impls:
                continue
            k = r % len(impls)
            tasks += [(job.name, i) for i in impls[k:] + impls[:k]]
        out.append(tasks)
    return out


# --- reporting -----------------------------------------------------------------------------

def summarize(samples: list[dict]) -> dict:
    """Medians (and spread) per job and implementation."""
    grouped: dict = {}
    for s in samples:
        if "error" not in s:
            grouped.setdefault(s["job"], {}).setdefault(s["impl"], []).append(s)
    out: dict = {}
    for job, impls in grouped.items():
        for impl, rows in impls.items():
            entry = {"n": len(rows)}
            for metric in ("ms", "cpu_ms", "steady_ms", "steady_cpu_ms", "peak_mb", "child_peak_rss_mb"):
                values = [r[metric] for r in rows if r.get(metric) is not None]
                if values:
                    entry[metric] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                                     "samples": [round(v, 3) for v in values]}
            outs = [r["out"] for r in rows if r.get("out")]
            if outs:
                entry["out"] = {**outs[-1], "bytes": statistics.median(o.get("bytes", 0) for o in outs)}
            out.setdefault(job, {})[impl] = entry
    return out


def median_of(summary: dict, ref: tuple, metric: str) -> float | None:
    entry = summary.get(ref[0], {}).get(ref[1], {})
    return entry.get(metric, {}).get("median")


def _verdict(measured: float | None, limit: float, check: bool) -> str:
    if not check:
        return "skipped"
    if measured is None:
        return "n/a"
    return "PASS" if measured <= limit else "FAIL"


CPU_METRIC = {"ms": "cpu_ms", "steady_ms": "steady_cpu_ms"}


def evaluate(summary: dict, state: dict, check: bool) -> list[dict]:
    """Each target on the medians of this run: `status` from wall time (or memory), `cpu_status`
    from the same ratio of CPU-time medians (steadier when other processes compete for the CPUs)."""
    results = []
    for t in TARGETS:
        value = median_of(summary, t.num, t.metric)
        limit, unit = t.limit, "x"
        cpu_ratio = None
        if t.den is not None:
            den = median_of(summary, t.den, t.metric)
            measured = value / den if value is not None and den else None
            cpu_metric = CPU_METRIC[t.metric]
            cpu_num, cpu_den = median_of(summary, t.num, cpu_metric), median_of(summary, t.den, cpu_metric)
            cpu_ratio = cpu_num / cpu_den if cpu_num is not None and cpu_den else None
        else:
            measured, unit = value, "MB"
            if t.decoded_of:
                fx = state["fixtures"][t.decoded_of]
                limit = t.limit * fx["width"] * fx["height"] * 3 / MB
        status, cpu_status = _verdict(measured, limit, check), _verdict(cpu_ratio, limit, check and t.den is not None)
        results.append({"target": t.name, "metric": t.metric, "measured": measured, "cpu_ratio": cpu_ratio,
                        "limit": limit, "unit": unit, "status": status, "cpu_status": cpu_status,
                        "numerator": list(t.num), "denominator": list(t.den) if t.den else None,
                        "note": t.note, "gap": (measured / limit if measured is not None and limit else None)})
    return results


def _fmt_ms(v):
    return "-" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}")


def _fmt_ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


def tables(summary: dict, targets: list[dict], jobs: list) -> str:
    lines = ["Render jobs: median wall time in ms of the first render in a fresh process, warm-up excluded. "
             "cpu = the same ratio of median CPU times;", "steady = ours/vips of a later render in the same "
             "process (wall, cpu); peak = RSS above the baseline in MB (10^6 B).", ""]
    head = (f"{'job':<16} {'output':>9} {'ours':>7} {'http':>7} {'pillow':>7} {'pyvips':>7} "
            f"{'ours/vips':>9} {'(cpu)':>6} {'steady':>6} {'(cpu)':>6} {'ours/pil':>8} {'http/ours':>9} "
            f"{'peak ours':>9} {'peak vips':>9}")
    lines += [head, "-" * len(head)]
    for job in jobs:
        if job.kind != "render":
            continue
        s = summary.get(job.name, {})
        m = {i: median_of(summary, (job.name, i), "ms") for i in ("ours", "http", "pillow", "pyvips")}
        cpu = {i: median_of(summary, (job.name, i), "cpu_ms") for i in ("ours", "pyvips")}
        out = (s.get("ours") or {}).get("out") or {}
        size = "x".join(map(str, out.get("size", []))) or "-"
        pk = {i: median_of(summary, (job.name, i), "peak_mb") for i in ("ours", "pyvips")}
        st = {(i, k): median_of(summary, (job.name, i), k) for i in ("ours", "pyvips")
              for k in ("steady_ms", "steady_cpu_ms")}
        lines.append(f"{job.name:<16} {size:>9} {_fmt_ms(m['ours']):>7} {_fmt_ms(m['http']):>7} "
                     f"{_fmt_ms(m['pillow']):>7} {_fmt_ms(m['pyvips']):>7} {_fmt_ratio(m['ours'], m['pyvips']):>9} "
                     f"{_fmt_ratio(cpu['ours'], cpu['pyvips']):>6} "
                     f"{_fmt_ratio(st['ours', 'steady_ms'], st['pyvips', 'steady_ms']):>6} "
                     f"{_fmt_ratio(st['ours', 'steady_cpu_ms'], st['pyvips', 'steady_cpu_ms']):>6} "
                     f"{_fmt_ratio(m['ours'], m['pillow']):>8} {_fmt_ratio(m['http'], m['ours']):>9} "
                     f"{_fmt_ms(pk['ours']):>9} {_fmt_ms(pk['pyvips']):>9}")
    lines += ["", "Other measurements: median wall ms (median CPU ms)", ""]
    for job in jobs:
        if job.kind == "render":
            continue
        parts = [f"{i} {_fmt_ms(median_of(summary, (job.name, i), 'ms'))} "
                 f"({_fmt_ms(median_of(summary, (job.name, i), 'cpu_ms'))})" for i in job.impls]
        lines.append(f"{job.name:<16} " + " | ".join(parts))
    for label, num, den in INFO_RATIOS:
        a, b = median_of(summary, num, "ms"), median_of(summary, den, "ms")
        lines.append(f"{'':<16} {label}: {_fmt_ratio(a, b)}")
    lines += ["", "Targets: wall = ratio of wall-time medians (decides `result`); "
              "cpu = ratio of CPU-time medians and its verdict", ""]
    head = f"{'target':<58} {'wall':>9} {'limit':>8} {'result':>7} {'cpu':>7} {'(cpu)':>7}"
    lines += [head, "-" * len(head)]
    for t in targets:
        if t["measured"] is None:
            measured = "-"
        else:
            measured = f"{t['measured']:.3f}x" if t["unit"] == "x" else f"{t['measured']:.1f} MB"
        cpu = "" if t.get("cpu_ratio") is None else f"{t['cpu_ratio']:.3f}x"
        cpu_status = t["cpu_status"] if t.get("cpu_ratio") is not None else ""
        limit = f"{t['limit']:.2f}x" if t["unit"] == "x" else f"{t['limit']:.1f} MB"
        lines.append(f"{t['target']:<58} {measured:>9} {limit:>8} {t['status']:>7} {cpu:>7} {cpu_status:>7}")
    counts = {k: sum(1 for t in targets if t["status"] == k) for k in ("PASS", "FAIL")}
    if counts["PASS"] or counts["FAIL"]:
        lines.append(f"{counts['PASS']} PASS, {counts['FAIL']} FAIL (by wall time / memory)")
    return "\n".join(lines)


def output_checks(summary: dict) -> list[str]:
    """All implementations of a render job must make the same kind of output as ours: format,
    pixel mode (a palette PNG is not a truecolour one), frame count and size (±1 px rounding).
    A mismatch means the comparison is off, e.g. after our encoder defaults changed."""
    problems = []
    for job in JOBS:
        if job.kind != "render":
            continue
        outs = {i: e["out"] for i, e in summary.get(job.name, {}).items() if e.get("out", {}).get("size")}
        ref = outs.get("ours")
        if not ref:
            continue
        for impl, out in outs.items():
            size, rsize = out["size"], ref["size"]
            if abs(size[0] - rsize[0]) > 1 or abs(size[1] - rsize[1]) > 1:
                problems.append(f"{job.name}: {impl} made {size[0]}x{size[1]}, ours {rsize[0]}x{rsize[1]}")
            for key in ("format", "mode", "frames"):
                if out.get(key) != ref.get(key):
                    problems.append(f"{job.name}: {impl} made {key} {out.get(key)}, ours {ref.get(key)}")
    return problems


# --- main ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Renderer benchmark: ours vs Pillow vs libvips.")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS") or DEFAULT_ROUNDS))
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT") or os.path.join(REPO, "bench", "results.json"))
    parser.add_argument("--work", default=os.environ.get("BENCH_WORK") or os.path.join(REPO, "bench", ".work"))
    parser.add_argument("--only", default=os.environ.get("BENCH_JOBS") or None,
                        help="regular expression over job names (default: BENCH_JOBS)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny images, one round, several tasks per worker, no target checks; "
                             "pyvips is skipped when missing")
    parser.add_argument("--strict", action="store_true", default=os.environ.get("BENCH_STRICT") == "1",
                        help="exit 1 when a target fails")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    rounds = 1 if args.smoke else max(1, args.rounds)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    started = time.time()
    work = os.path.abspath(args.work)
    versions = probe(args.python, child_env(work))
    skipped = {}
    if "pyvips_error" in versions:
        if not args.smoke:
            raise SystemExit(f"pyvips is not usable ({versions['pyvips_error']}); "
                             "`make bench` installs requirements-bench.txt")
        skipped["pyvips"] = versions["pyvips_error"]
        log(f"smoke: skipping pyvips ({versions['pyvips_error']})")

    jobs = [j for j in JOBS if not args.only or re.search(args.only, j.name)]
    state, env, state_path = prepare(work, args.smoke, args.python, log)
    log(f"setup done in {time.time() - started:.1f} s; {rounds} round(s) over {len(jobs)} jobs")

    samples, errors, load = [], [], []
    plan = schedule(jobs, rounds, set(skipped))
    for r, tasks in enumerate(plan, 1):
        round_started = time.time()
        load.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
        if args.smoke:
            # One worker per implementation: the same code paths, without ~60 interpreter starts.
            batches: dict = {}
            for job, impl in tasks:
                batches.setdefault(impl, []).append(f"{job}:{impl}")
            groups = list(batches.values())
        else:
            groups = [[f"{job}:{impl}"] for job, impl in tasks]
        for group in groups:
            args_ = ["--state", state_path]
            for spec in group:
                args_ += ["--task", spec]
            try:
                results = run_worker(args.python, env, args_)
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                results = [{"job": s.split(":")[0], "impl": s.split(":")[1], "error": str(err)} for s in group]
            for res in results:
                res["round"] = r
                samples.append(res)
                if "error" in res:
                    errors.append(res)
                    log(f"  ERROR {res['job']} {res['impl']}: {res['error']}")
        load_note = f" (load average {load[-1]:.1f} at its start)" if load[-1] is not None else ""
        log(f"round {r}/{rounds}: {len(tasks)} measurements in {time.time() - round_started:.0f} s{load_note}")
    load.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else None)

    summary = summarize(samples)
    targets = evaluate(summary, state, check=not args.smoke)
    checks = output_checks(summary)
    throughput = None
    if not args.only or re.search(args.only, "load"):  # the throughput test (bench/load.py)
        try:
            throughput = loadtest.run(args.python, env, REPO, os.path.dirname(state_path), work, state, args.smoke, log)
        except (RuntimeError, OSError) as err:
            errors.append({"job": "load", "impl": "-", "error": f"{type(err).__name__}: {err}"})
            log(f"  ERROR load: {err}")
        else:
            targets += loadtest.targets(throughput, check=not args.smoke)
    report = tables(summary, targets, jobs)
    if throughput is not None:
        report += "\n\n" + loadtest.table(throughput)
    print(report)
    for problem in checks:
        print(f"WARNING output mismatch: {problem}")
    nproc = machine()["nproc"] or 1
    busy = [x for x in load if x is not None and x > nproc]
    if busy and not args.smoke:
        print(f"WARNING: 1-minute load average up to {max(busy):.1f} on {nproc} CPUs during the run (the bench "
              f"itself adds about 1): other processes competed for the CPUs, so wall times are noisy; "
              f"the CPU-time ratios are the steadier estimate.")
    if errors:
        print(f"{len(errors)} measurement(s) failed; see 'errors' in {args.out}")

    result = {
        "meta": {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                 "duration_s": round(time.time() - started, 1), "rounds": rounds, "smoke": args.smoke,
                 "load_average_1min": load,
                 "machine": machine(), "versions": versions, "git": git_info(), "skipped_impls": skipped,
                 "fixtures": {k: {kk: v[kk] for kk in ("kind", "width", "height", "frames", "bytes", "hash")}
                              for k, v in state["fixtures"].items()}},
        "medians": summary, "load": throughput, "targets": targets, "output_checks": checks, "errors": errors,
        "samples": samples, "table": report,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    log(f"wrote {args.out} ({time.time() - started:.0f} s in all)")
    if errors:
        return 1
    if args.strict and any(t["status"] == "FAIL" for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
