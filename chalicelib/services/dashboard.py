"""The web dashboard's static files (chalicelib/dashboard/): the page at /dashboard, the files
it loads at /dashboard/{name} (relative to the page, so an API Gateway stage prefix works).

No build step: plain HTML, CSS and a JavaScript module. index.html and config.json are revalidated
on every load (no-cache); the script and style sheet may be cached for five minutes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from chalicelib.errors import NotFound

ROOT = Path(__file__).resolve().parent.parent / "dashboard"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml"}
FILES = {"app.js", "style.css"}
NO_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=300"


def render_base(render_domain: str) -> str:
    """Where the dashboard points its render URLs ("{org}" is replaced in the browser)."""
    configured = os.environ.get("DASHBOARD_RENDER_BASE")
    if configured:
        return configured
    return f"https://{render_domain}/{{org}}" if render_domain else "/render/{org}"


def asset(name: str, render_domain: str = "") -> tuple[str, dict]:
    """(body, headers) of one dashboard file; NotFound for anything else."""
    if name == "config.json":
        body = json.dumps({"render_base": render_base(render_domain)})
        return body, {"Content-Type": TYPES[".json"], "Cache-Control": NO_CACHE}
    if name not in FILES and name != "index.html":  # the page itself is served at /dashboard
        raise NotFound(f"No dashboard file {name}")
    ext = os.path.splitext(name)[1]
    cache = NO_CACHE if ext == ".html" else ASSET_CACHE
    headers = {"Content-Type": TYPES[ext], "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return (ROOT / name).read_text(encoding="utf-8"), headers
