"""Throughput under concurrency: the local server (ours) against thumbor's HTTP server, loopback.

Both servers run as their own processes on free ports and serve the same JPEG (our stored
original / thumbor's file loader on the same fixture file) at the same sizes, JPEG q80
progressive. For each N in LEVELS, N client threads (in the bench process, one new connection
per request, as a CDN's origin fetches are) run three phases, ours and thumbor interleaved (the
order alternates with N):

- `miss`: every URL is new to both servers (a width never requested before), so each request
  loads the original, decodes, resizes, encodes and stores the result;
- `hit`: a small set of URLs rendered beforehand, requested over and over (our render store /
  thumbor's file result storage): served without decoding;
- `mix`: misses and hits alternating.

Each phase is bounded by a request count and a time limit (requests not started by the deadline
are not sent). Reported per phase: req/s (completed requests / phase wall time), p50 and p99
latency, errors (non-200 or connection failures).

thumbor (PyPI `thumbor`, pinned in requirements-bench-thumbor.txt) lives in its own virtualenv
(`make bench` creates bench/.work/thumbor-venv): it pins Pillow < 13 and would otherwise
downgrade the Pillow our renderer runs on. Without it (e.g. in the smoke test), thumbor is
skipped.
"""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

LEVELS = (1, 2, 4, 8)
SMOKE_LEVELS = (1, 2)
PHASES = ("miss", "hit", "mix")
SOURCE = "jpeg_2mp"  # 1632x1224: thumbnails cost ~10-40 ms, so a phase has enough requests
HIT_URLS = 8
# Widths 210-407 of the 1632 px source all decode at 1/4 scale (DCT scaling, 408x306, for ours and
# for thumbor's Pillow engine alike), so every request costs about the same whatever its width:
# misses count up from FIRST_WIDTH, the hit set is the widths just below WIDTH_END.
FIRST_WIDTH, WIDTH_END = 210, 408
LIMITS = {"miss": (24, 20.0), "hit": (300, 10.0), "mix": (24, 20.0)}  # (requests, seconds) per phase
SMOKE_LIMITS = {"miss": (3, 10.0), "hit": (6, 10.0), "mix": (4, 10.0)}
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thumbor_bin(work: str) -> str | None:
    path = os.environ.get("BENCH_THUMBOR") or os.path.join(work, "thumbor-venv", "bin", "thumbor")
    return path if os.path.exists(path) else None


class Server:
    """One server process; `url(width)` is the path of a `width` px wide JPEG of the source."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int, health: str, url):
        self.name, self.port, self.url = name, port, url
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if get(port, health)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{name} server did not answer {health} within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def get(port: int, path: str) -> tuple[int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Accept": "image/jpeg"})
        resp = conn.getresponse()
        return resp.status, len(resp.read())
    finally:
        conn.close()


def start_ours(python: str, env: dict, repo: str, state: dict) -> Server:
    port = free_port()
    code = ("import sys, localserver\n"
            f"server = localserver.create_server('127.0.0.1', {port})\n"
            "server.serve_forever()\n")
    org, image = state["org"], state["fixtures"][SOURCE]["hash"]
    env = {**env, "PYTHONPATH": repo}
    return Server("ours", [python, "-c", code], env, port, "/operations",
                  lambda w: f"/render/{org}/dynamic/resize-width-{w}/{image}.jpg")


THUMBOR_CONF = """\
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = 'thumbor.result_storages.file_storage'
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {results!r}
RESULT_STORAGE_STORES_UNSAFE = True
ALLOW_UNSAFE_URL = True
QUALITY = 80
PROGRESSIVE_JPEG = True
AUTO_WEBP = False
ENGINE_THREADPOOL_SIZE = {threads}
"""


def start_thumbor(binary: str, run_dir: str, state: dict, threads: int) -> Server:
    port = free_port()
    root = os.path.join(run_dir, "thumbor")
    os.makedirs(os.path.join(root, "results"), exist_ok=True)
    conf = os.path.join(root, "thumbor.conf")
    source = state["fixtures"][SOURCE]["path"]
    with open(conf, "w") as f:
        f.write(THUMBOR_CONF.format(root=os.path.dirname(source), results=os.path.join(root, "results"),
                                    threads=threads))
    name = os.path.basename(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHONPATH"))}
    return Server("thumbor", [binary, "-p", str(port), "-i", "127.0.0.1", "-c", conf, "-l", "error"], env, port,
                  "/healthcheck", lambda w: f"/unsafe/{w}x0/{name}")


def drive(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads take the next path until none is left or the deadline passed."""
    lock, todo = threading.Lock(), iter(paths)
    latencies, errors = [], []
    deadline = time.perf_counter() + seconds

    def client():
        while True:
            with lock:
                path = next(todo, None)
            if path is None or time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            try:
                status, size = get(port, path)
                ok = status == 200 and size > 0
            except OSError as err:
                ok, status = False, f"{type(err).__name__}"
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                (latencies if ok else errors).append(dt if ok else f"{path}: {status}")

    started, cpu0 = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    lat = sorted(latencies)
    return {"requests": len(lat) + len(errors), "ok": len(lat), "errors": len(errors), "error_samples": errors[:3],
            "seconds": round(wall, 3), "req_s": len(lat) / wall if wall else None,
            "p50_ms": statistics.median(lat) if lat else None,
            "p99_ms": lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))] if lat else None,
            "client_cpu_ms": (time.process_time() - cpu0) * 1000}


def phase_paths(phase: str, server: Server, widths, count: int) -> list[str]:
    hits = [server.url(WIDTH_END - 1 - i) for i in range(HIT_URLS)]
    if phase == "hit":
        return [hits[i % HIT_URLS] for i in range(count)]
    if phase == "miss":
        return [server.url(w) for w in widths]
    return [server.url(widths[i // 2]) if i % 2 == 0 else hits[i % HIT_URLS] for i in range(2 * len(widths))]


def server_cpu_ms(server: Server) -> float | None:
    try:
        with open(f"/proc/{server.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run(python: str, env: dict, repo: str, run_dir: str, work: str, state: dict, smoke: bool, log) -> dict:
    levels, limits = (SMOKE_LEVELS, SMOKE_LIMITS) if smoke else (LEVELS, LIMITS)
    binary = thumbor_bin(work)
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    servers = [start_ours(python, env, repo, state)]
    skipped = None
    if binary:
        servers.append(start_thumbor(binary, run_dir, state, threads=nproc))
    else:
        skipped = "thumbor not installed (make bench installs requirements-bench-thumbor.txt)"
        log(f"load: skipping thumbor ({skipped})")
    results: dict = {s.name: {} for s in servers}
    next_width = [FIRST_WIDTH]

    def widths(n: int) -> list[int]:
        out = list(range(next_width[0], next_width[0] + n))
        next_width[0] += n
        if next_width[0] > WIDTH_END - HIT_URLS:
            raise RuntimeError("load: more misses than widths of the same decode scale; lower LIMITS")
        return out

    try:
        for s in servers:  # warm-up: imports, first decode, and the hit set rendered
            for path in phase_paths("hit", s, [], HIT_URLS):
                status, _ = get(s.port, path)
                if status != 200:
                    raise RuntimeError(f"{s.name}: GET {path} answered {status}")
        for k, n in enumerate(levels):
            order = servers if k % 2 == 0 else servers[::-1]
            for phase in PHASES:
                count, seconds = limits[phase]
                same = widths(count if phase == "miss" else (count + 1) // 2 if phase == "mix" else 0)
                for s in order:
                    cpu0 = server_cpu_ms(s)
                    res = drive(s.port, phase_paths(phase, s, same, count), n, seconds)
                    cpu1 = server_cpu_ms(s)
                    res["server_cpu_ms"] = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
                    results[s.name].setdefault(str(n), {})[phase] = res
            log(f"load: {n} client(s) done")
    finally:
        for s in servers:
            s.stop()
    return {"levels": list(levels), "phases": list(PHASES), "limits": limits, "source": SOURCE,
            "thumbor_threads": nproc if binary else None, "skipped": skipped, "results": results}


def targets(load: dict, check: bool) -> list[dict]:
    """ours >= 1.5x thumbor's req/s on misses (each N); a hit costs the server <= 1/4 of a miss (N=1)."""
    out = []
    ours, thumbor = load["results"].get("ours", {}), load["results"].get("thumbor")
    for n in load["levels"]:
        if thumbor is None:
            continue
        a, b = ours[str(n)]["miss"]["req_s"], thumbor[str(n)]["miss"]["req_s"]
        ratio = a / b if a and b else None
        out.append(_target(f"load N={n}: ours miss req/s >= 1.5x thumbor", ratio, 1.5, check, higher=True))
    first = ours.get(str(load["levels"][0]), {})
    if first:  # a hit costs the server a fraction of a miss: no decode, no resize, no encode
        hit, miss = (_cpu_per_request(first[p]) for p in ("hit", "miss"))
        out.append(_target("load N=1: ours hit server CPU <= 0.25x a miss", hit / miss if hit and miss else None,
                           0.25, check))
    return out


def _cpu_per_request(res: dict) -> float | None:
    cpu = res.get("server_cpu_ms")
    return cpu / res["ok"] if cpu is not None and res["ok"] else None


def _target(name: str, measured, limit: float, check: bool, higher: bool = False) -> dict:
    if not check:
        status = "skipped"
    elif measured is None:
        status = "n/a"
    else:
        status = "PASS" if (measured >= limit if higher else measured <= limit) else "FAIL"
    return {"target": name, "metric": "req_s" if higher else "ms", "measured": measured, "cpu_ratio": None,
            "limit": limit, "unit": "x", "status": status, "cpu_status": "", "higher_is_better": higher,
            "numerator": None, "denominator": None, "note": "", "gap": None}


def table(load: dict) -> str:
    lines = [f"Throughput (loopback, {load['source']} -> width px JPEG q80 progressive; one new connection per "
             "request): req/s, p50 / p99 ms, errors; server CPU ms per request", ""]
    head = f"{'server':<8} {'N':>2} " + " ".join(f"{p + ' req/s':>10} {'p50':>6} {'p99':>6} {'err':>3} {'cpu/req':>7}"
                                               for p in load["phases"])
    lines += [head, "-" * len(head)]
    for n in load["levels"]:
        for name, per_n in load["results"].items():
            cells = []
            for p in load["phases"]:
                r = per_n[str(n)][p]
                cells.append(f"{_f(r['req_s']):>10} {_f(r['p50_ms']):>6} {_f(r['p99_ms']):>6} {r['errors']:>3} "
                             f"{_f(_cpu_per_request(r)):>7}")
            lines.append(f"{name:<8} {n:>2} " + " ".join(cells))
    if load.get("skipped"):
        lines.append(f"(thumbor skipped: {load['skipped']})")
    return "\n".join(lines)


def _f(v) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


if __name__ == "__main__":  # pragma: no cover - use python -m bench.run
    sys.exit("run through python -m bench.run (the load test needs the bench's setup)")
