"""One benchmark measurement per process: `python -m bench.worker --state S --task JOB:IMPL`.

Prints one JSON line per task: wall time of the timed section (ms), CPU time of the process
during it (cpu_ms; above ms means more than one thread worked), peak RSS above the baseline
just before it (peak_mb, 10^6 bytes), and what came out (format, mode, size, frames, bytes).

Each task first does the same work untimed on a small warm-up source (imports, codec and
database initialisation are not render time; cold starts are measured separately), clears
the render cache where ours would hit it, and then times one operation (the jobs of a few ms,
the cache hit and the upload, time five and report the median). The orchestrator (bench/run.py)
starts a fresh process per task; smoke mode passes several tasks to one process.

`python -m bench.worker --setup PLAN --state S` creates the organization, uploads the
fixtures and creates one stack per render job, and writes the state file the tasks read.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from bench.jobs import JOBS_BY_NAME, Job  # noqa: E402
from bench.references import TALL, pillow_render, pyvips_render  # noqa: E402,F401


# --- measuring -----------------------------------------------------------------------------

def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is this task's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Meter:
    """Times a block: wall and process CPU time, and the RSS peak above the RSS at its start."""

    def __enter__(self):
        gc.collect()
        self.reset = _reset_peak()
        self.rss0 = _status_kb("VmRSS")
        self.hwm0 = _status_kb("VmHWM")
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.t1 = time.perf_counter()
        self.cpu1 = time.process_time()
        self.hwm1 = _status_kb("VmHWM")
        return False

    def result(self) -> dict:
        out = {"ms": (self.t1 - self.t0) * 1000, "cpu_ms": (self.cpu1 - self.cpu0) * 1000}
        if self.hwm1 is not None and self.rss0 is not None:
            base = self.rss0 if self.reset else self.hwm0
            out["peak_mb"] = max(0, self.hwm1 - base) * 1024 / 1e6
            out["baseline_rss_mb"] = self.rss0 * 1024 / 1e6
            out["peak_method"] = "clear_refs" if self.reset else "hwm-delta"
        return out


def describe(body: bytes) -> dict:
    from PIL import Image

    from chalicelib.render import formats_jxl, formats_video

    if formats_video.kind(body):
        import av

        with av.open(io.BytesIO(body)) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            return {"format": stream.codec_context.name, "mode": stream.codec_context.pix_fmt,
                    "size": [stream.width, stream.height], "frames": frames, "bytes": len(body)}
    formats_jxl.register()
    im = Image.open(io.BytesIO(body))
    return {"format": im.format, "mode": im.mode, "size": list(im.size), "frames": getattr(im, "n_frames", 1),
            "bytes": len(body)}


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# --- ours ----------------------------------------------------------------------------------

def _services(state: dict):
    from chalicelib import bootstrap

    return bootstrap.services()


def _render_path(state: dict, job: Job, fixture: str) -> str:
    return f"/{state['org']}/{job.stack_name}/{state['fixtures'][fixture]['hash']}.{job.fmt}"


def _invalidate(state: dict, fixture: str) -> None:
    """Drop every stored render of the fixture's image and its kept reduced decodes, so the next
    render is a miss that decodes the JPEG (a render job measures the decode; the throughput
    test's misses, new sizes of one image, read the kept decode as a server's do)."""
    from chalicelib.services.reduced_decodes import ReducedDecodes

    svc, org = _services(state), state["org"]
    image = svc.images.resolve(org, state["fixtures"][fixture]["hash"])
    svc.renderer.cache.invalidate_image(org, image.hash)
    ReducedDecodes(svc.storage.originals).delete_all(org, image.binary_hash)


def _ours(state: dict, path: str) -> bytes:
    result = _services(state).renderer.handle(path, "", {"Accept": "*/*"})
    if result.status != 200:
        raise RuntimeError(f"render {path}: {result.status} {result.body[:300]!r}")
    return result.body


class _Http:
    """The local server (localserver.create_server) on a free port, in this process. It is not
    shut down: shutdown() waits up to serve_forever's poll interval (0.5 s, left as the local
    server runs it); the idle daemon thread ends with the process."""

    def __init__(self):
        import localserver

        self.server = localserver.create_server("127.0.0.1", 0)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, path: str) -> bytes:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request("GET", "/render" + path, headers={"Accept": "*/*"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"GET /render{path}: {resp.status} {body[:300]!r}")
        return body



# --- tasks ---------------------------------------------------------------------------------

STEADY_RENDERS = 2  # after the timed first render: renders of the same job, the last one timed as `steady`


def task_render(state: dict, job: Job, impl: str) -> dict:
    """The first render of the fixture in this process (after a warm-up on a small source), and
    the steady state: the same render again, the last of STEADY_RENDERS timed, as a warm server
    or Lambda container does it (its allocator already holds the pages). Every implementation
    runs with the same malloc settings as ours (chalicelib.render.allocator)."""
    from chalicelib.render import allocator

    allocator.keep_freed_memory()
    fx, warm = state["fixtures"][job.fixture], state["fixtures"][job.warm]
    if impl in ("ours", "http"):
        fetch = _Http().get if impl == "http" else (lambda p: _ours(state, p))
        _invalidate(state, job.warm)
        fetch(_render_path(state, job, job.warm))
        path = _render_path(state, job, job.fixture)

        def prepare():  # untimed: the next render is a miss that decodes
            _invalidate(state, job.fixture)

        def render():
            return fetch(path)
    elif impl in ("pillow", "pyvips"):
        fn = pillow_render if impl == "pillow" else pyvips_render
        ops = job.ops(state.get("smoke", False))
        fn(read(warm["path"]), ops, job.fmt, job.options)

        def prepare():
            pass

        def render():
            return fn(read(fx["path"]), ops, job.fmt, job.options)  # reading the file is part of the job, as for ours
    else:
        raise ValueError(f"unknown implementation {impl!r} for {job.name}")
    prepare()
    with Meter() as m:
        body = render()
    first = m.result()
    for _ in range(STEADY_RENDERS):
        prepare()
        with Meter() as m:
            again = render()
    out = describe(body)
    if {**describe(again), "bytes": 0} != {**out, "bytes": 0}:
        raise RuntimeError(f"{job.name} {impl}: the steady-state render is not the same kind of output")
    steady = m.result()
    return {**first, "steady_ms": steady["ms"], "steady_cpu_ms": steady["cpu_ms"], "out": out}


SHORT_REPEATS = 5  # jobs of a few ms: timed this many times per process, the median reported


def _medians(runs: list[dict]) -> dict:
    out = dict(runs[-1])
    out["ms"] = statistics.median(r["ms"] for r in runs)
    out["cpu_ms"] = statistics.median(r["cpu_ms"] for r in runs)
    if all("peak_mb" in r for r in runs):
        out["peak_mb"] = max(r["peak_mb"] for r in runs)
    out["repeats_ms"] = [round(r["ms"], 3) for r in runs]
    return out


def repeated(prepare, timed, n: int = SHORT_REPEATS) -> tuple[dict, object]:
    """Time `timed(prepare())` n times (each prepare untimed); the medians of wall and CPU time,
    the largest peak, and the last result."""
    runs, value = [], None
    for _ in range(n):
        arg = prepare()
        with Meter() as m:
            value = timed(arg)
        runs.append(m.result())
    return _medians(runs), value


def task_cache(state: dict, job: Job, impl: str) -> dict:
    assert impl == "hit"
    _invalidate(state, job.warm)
    _ours(state, _render_path(state, job, job.warm))
    path = _render_path(state, job, job.fixture)
    first = _ours(state, path)  # a miss or a hit; afterwards the render is stored
    result, body = repeated(lambda: path, lambda p: _ours(state, p))
    if body != first:
        raise RuntimeError("the cached render differs from the rendered one")
    return {**result, "out": describe(body)}


def interleaved(steps: dict, n: int = SHORT_REPEATS) -> dict:
    """Time every step of `steps` ({name: (prepare, timed)}) n times, alternating their order
    (A B, B A, ...), so each sees the same state of the page cache and of the disk's writeback;
    {name: (medians as `repeated` gives them, last result)}."""
    runs = {name: [] for name in steps}
    values = {}
    names = list(steps)
    for i in range(n):
        for name in (names if i % 2 == 0 else names[::-1]):
            prepare, timed = steps[name]
            arg = prepare()
            with Meter() as m:
                values[name] = timed(arg)
            runs[name].append(m.result())
    return {name: (_medians(rows), values[name]) for name, rows in runs.items()}


def task_upload(state: dict, job: Job, impl: str) -> dict:
    """Each repetition stores the same 12 MP JPEG as a new file in an existing directory: ours
    as a new image of an organization that has images already (the previous repetition's record
    and original are removed, untimed), the baseline as SHA-1 + a write of the file named by it.
    Both are timed in every task, interleaved, and the task reports the one it is for: the file
    write dominates both and costs 2-7 ms on the bench VM's disk depending on the page cache, so
    timing them in separate processes at different moments compared disk states."""
    if impl not in ("ours", "sha1_write"):
        raise ValueError(impl)
    from chalicelib import auth
    from chalicelib.services.sourceimages import Upload
    from chalicelib.storage.ports import original_key

    warm, data = read(state["fixtures"][job.warm]["path"]), read(state["fixtures"][job.fixture]["path"])
    svc = _services(state)
    org = "up-" + uuid.uuid4().hex[:12]
    key = svc.accounts.create_user(f"{org}@example.com", org)["api_key"]
    principal = auth.authenticate(svc.storage, {"Api-Key": key}, svc.settings.key_pepper)
    uploaded: list[dict] = []

    def upload(blob: bytes) -> dict:
        item = svc.images.upload(principal, org, [Upload(filename="photo.jpg", data=blob)])["items"][0]
        uploaded.append(item)
        return item

    def forget_last() -> None:
        if uploaded:
            item = uploaded.pop()
            svc.storage.images.purge(org, item["hash"])
            svc.storage.originals.delete(original_key(org, item["binary_hash"]))

    directory = os.path.join(state["data_dir"], "bench-baseline", uuid.uuid4().hex)
    os.makedirs(directory)
    stored: list[str] = []

    def store(blob: bytes) -> str:
        digest = hashlib.sha1(blob).hexdigest()
        with open(os.path.join(directory, digest), "wb") as f:
            f.write(blob)
        stored.append(digest)
        return digest

    def remove_stored() -> None:
        while stored:
            os.unlink(os.path.join(directory, stored.pop()))

    upload(warm)  # warm-up; it stays, so the organization has an image (and its directory)
    uploaded.clear()
    upload(data)
    store(data)
    timed = interleaved({"ours": (forget_last, lambda _: upload(data)),
                         "sha1_write": (remove_stored, lambda _: store(data))})
    result, value = timed[impl]
    if impl == "ours":
        return {**result, "out": {"bytes": value["size"], "size": [value["width"], value["height"]]}}
    return {**result, "out": {"bytes": len(data)}}


def _api_event(path: str) -> dict:
    """A REST API (API Gateway proxy) event as the api_handler Lambda receives it."""
    return {
        "resource": path, "path": path, "httpMethod": "GET",
        "headers": {"accept": "application/json", "host": "api.example.com", "user-agent": "rokka-bench"},
        "multiValueHeaders": {"accept": ["application/json"], "host": ["api.example.com"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": path, "httpMethod": "GET", "path": "/api" + path, "stage": "api",
                           "identity": {"sourceIp": "198.51.100.7"}, "requestId": "bench"},
    }


def _function_url_event(path: str) -> dict:
    """A Lambda function URL event (payload 2.0), as CloudFront forwards a render request."""
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.eu-central-1.on.aws", "user-agent": "Amazon CloudFront", "accept": "*/*"},
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "130.176.0.1", "userAgent": "Amazon CloudFront"},
                           "domainName": "abc.lambda-url.eu-central-1.on.aws", "stage": "$default"},
        "isBase64Encoded": False,
    }


_READY = """
import sys, time
_cpu = time.process_time()
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdout.write("cpu %f\\n" % (_cpu * 1000))
for _line in open("/proc/self/status"):
    if _line.startswith("VmHWM:"):
        sys.stdout.write(_line)
"""

_CONTEXT = """
class Context:
    aws_request_id = "bench"
    function_name = "bench"
    memory_limit_in_mb = 1024
    def get_remaining_time_in_millis(self):
        return 30000
"""


def coldstart_code(impl: str, event: dict | None = None) -> str:
    if impl == "baseline":
        return "import PIL.Image, boto3\n" + _READY
    if impl == "api":
        return ("import app\n" + _CONTEXT + f"r = app.app({event!r}, Context())\n"
                "assert r['statusCode'] == 200, r\n" + _READY)
    if impl == "api_localgateway":
        return ("from chalice.config import Config\nfrom chalice.local import LocalGateway\nimport app\n"
                "gw = LocalGateway(app.app, Config.create(chalice_stage='dev', lambda_timeout=300))\n"
                "r = gw.handle_request(method='GET', path='/operations',\n"
                "                      headers={'Accept': 'application/json'}, body=None)\n"
                "assert r['statusCode'] == 200, r\n" + _READY)
    if impl == "render_lambda":
        return (f"import app\nr = app.render({event!r}, None)\n"
                "assert r['statusCode'] == 200 and r['isBase64Encoded'], r\n" + _READY)
    raise ValueError(impl)


def bytecode_dir(state: dict) -> str:
    """Where the cold-start children keep their compiled bytecode (PYTHONPYCACHEPREFIX)."""
    return os.path.join(os.path.dirname(state["data_dir"]), "pycache")


def coldstart_env(state: dict, write_bytecode: bool = False) -> dict:
    """The cold-start children load bytecode, as on Lambda: the deployment package ships
    precompiled .pyc (scripts/package.py, step 5) and boto3 comes precompiled with the runtime.
    Without this, children inherited PYTHONDONTWRITEBYTECODE=1 from this environment and, with
    no __pycache__ in the repository, compiled every chalicelib module from source on each
    start (~50 ms of the measured `import app`), while the baseline's PIL and boto3 came
    precompiled from site-packages. The bytecode of everything they import (ours and the
    baseline's alike) lives in a private directory of the run, made once by
    `warm_bytecode` during setup, then only read."""
    env = {**os.environ, "DATA_DIR": state["data_dir"], "STORAGE": "local",
           "PYTHONPYCACHEPREFIX": bytecode_dir(state)}
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _coldstart_code_for(state: dict, job: Job, impl: str) -> str:
    event = None
    if impl == "api":
        event = _api_event("/operations")
    elif impl == "render_lambda":
        event = _function_url_event(_render_path(state, job, job.warm))
        _invalidate(state, job.warm)  # the first render is a miss, as on a fresh deployment
    return coldstart_code(impl, event)


def warm_bytecode(state: dict) -> None:
    """Run every cold-start child once, untimed, writing bytecode for what it imports."""
    for job in JOBS_BY_NAME.values():
        if job.kind != "coldstart":
            continue
        for impl in job.impls:
            res = subprocess.run([sys.executable, "-c", _coldstart_code_for(state, job, impl)], cwd=REPO,
                                 env=coldstart_env(state, write_bytecode=True), capture_output=True,
                                 timeout=300)
            if res.returncode != 0:
                raise RuntimeError(f"cold start {impl} failed: {res.stderr.decode(errors='replace')[-800:]}")


def task_coldstart(state: dict, job: Job, impl: str) -> dict:
    code = _coldstart_code_for(state, job, impl)
    env = coldstart_env(state)
    with tempfile.TemporaryFile() as err:
        with Meter() as m:
            proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                                    stdout=subprocess.PIPE, stderr=err)
            line = proc.stdout.readline()
        rest = proc.stdout.read()  # (not communicate(): it would lose what readline buffered)
        proc.stdout.close()
        proc.wait(timeout=300)
        err.seek(0)
        if line.strip() != b"ready" or proc.returncode != 0:
            raise RuntimeError(f"{impl} child failed ({proc.returncode}): {err.read().decode(errors='replace')[-800:]}")
    # The child's CPU time up to its answer (it reports it), and its peak RSS.
    out = {"ms": m.result()["ms"]}
    for ln in rest.decode().splitlines():
        if ln.startswith("cpu "):
            out["cpu_ms"] = float(ln.split()[1])
        elif ln.startswith("VmHWM:"):
            out["child_peak_rss_mb"] = int(ln.split()[1]) * 1024 / 1e6
    return out


TASKS = {"render": task_render, "cache": task_cache, "upload": task_upload, "coldstart": task_coldstart}


def run_task(state: dict, spec: str) -> dict:
    job_name, impl = spec.split(":", 1)
    job = JOBS_BY_NAME[job_name]
    try:
        return {"job": job_name, "impl": impl, **TASKS[job.kind](state, job, impl)}
    except Exception as err:  # noqa: BLE001 - reported to the orchestrator, which records it
        return {"job": job_name, "impl": impl, "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc()[-3000:]}


# --- setup ---------------------------------------------------------------------------------

def setup(plan: dict) -> dict:
    """Organization, uploads and stacks through the services; returns the state for the tasks."""
    from chalicelib import auth, bootstrap
    from chalicelib.services.sourceimages import Upload
    from bench.jobs import JOBS

    svc = bootstrap.services()
    org = "bench"
    key = svc.accounts.create_user("bench@example.com", org)["api_key"]
    principal = auth.authenticate(svc.storage, {"Api-Key": key}, svc.settings.key_pepper)
    fixtures = {}
    for name, fx in plan["fixtures"].items():
        item = svc.images.upload(principal, org, [Upload(filename=os.path.basename(fx["path"]),
                                                         data=read(fx["path"]))])["items"][0]
        fixtures[name] = {**fx, "hash": item["hash"], "width": item["width"], "height": item["height"]}
    for job in JOBS:
        if job.kind == "render":
            ops = job.ops(plan.get("smoke", False))
            body = {"operations": ops, "options": dict(job.options)} if job.options else ops
            svc.stacks.put(principal, org, job.stack_name, body, overwrite=True)
    return {"data_dir": plan["data_dir"], "org": org, "fixtures": fixtures, "smoke": plan.get("smoke", False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="state file (written by --setup, read by tasks)")
    parser.add_argument("--setup", metavar="PLAN", help="create the data described by this plan file")
    parser.add_argument("--task", action="append", default=[], metavar="JOB:IMPL")
    args = parser.parse_args(argv)
    if args.setup:
        with open(args.setup) as f:
            plan = json.load(f)
        os.environ["DATA_DIR"], os.environ["STORAGE"] = plan["data_dir"], "local"
        state = setup(plan)
        with open(args.state, "w") as f:
            json.dump(state, f, indent=1)
        if not state.get("smoke"):  # smoke runs judge no targets; their children compile as they go
            warm_bytecode(state)
        return 0
    with open(args.state) as f:
        state = json.load(f)
    os.environ["DATA_DIR"], os.environ["STORAGE"] = state["data_dir"], "local"
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    for spec in args.task:
        print(json.dumps(run_task(state, spec)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
