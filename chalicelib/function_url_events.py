"""The management API behind a Lambda function URL: payload 2.0 events in, Chalice's REST routes out.

API Gateway REST APIs cannot route WebDAV's COPY, which rokka.js `sourceimages.copy()` and the PHP
client's `copySourceImage()` send. On AWS the API function therefore also has a function URL
(infra/merge.yaml, ApiFunctionUrl): Lambda hands whatever request reaches the URL to the function
as a payload 2.0 event. This module turns such an event into the REST proxy event Chalice's router
expects, resolving the route the way API Gateway does (literal path segments before {params}),
and COPY into POST .../copy, the same rewrite localserver.py applies. No chalice import: the app
object (`routes` and `__call__`) is passed in.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

NOT_FOUND = {"statusCode": 404, "headers": {"Content-Type": "application/json"},
             "body": json.dumps({"error": {"code": 404, "message": "Not found"}}), "isBase64Encoded": False}


def copy_as_post(method: str, path: str) -> tuple[str, str]:
    """WebDAV COPY /sourceimages/{org}/{hash} (Destination header) → POST /sourceimages/{org}/{hash}/copy."""
    if method.upper() != "COPY":
        return method, path
    split = urlsplit(path)
    return "POST", split.path.rstrip("/") + "/copy" + (f"?{split.query}" if split.query else "")


def is_function_url_event(event) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and \
        "http" in (event.get("requestContext") or {})


def match_route(routes: dict, path: str) -> tuple[str, dict] | None:
    """The route template for `path` and its decoded parameters; literal segments win, left first."""
    segments = [s for s in path.split("/") if s != ""]
    best = None
    for template in routes:
        parts = [s for s in template.split("/") if s != ""]
        if len(parts) != len(segments):
            continue
        params, literal = {}, []
        for part, seg in zip(parts, segments):
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = unquote(seg)
                literal.append(False)
            elif part == unquote(seg):
                literal.append(True)
            else:
                break
        else:
            if best is None or tuple(literal) > best[0]:
                best = (tuple(literal), template, params)
    return None if best is None else (best[1], best[2])


def to_rest_event(event: dict, routes: dict) -> dict | None:
    """The API Gateway REST proxy event Chalice would get for this function-URL request, or None."""
    http = event["requestContext"]["http"]
    query = event.get("rawQueryString") or ""
    method, path = copy_as_post(http["method"], event.get("rawPath") or "/")
    found = match_route(routes, path)
    if found is None:
        return None
    resource, params = found
    headers = dict(event.get("headers") or {})
    if event.get("cookies"):
        headers["cookie"] = "; ".join(event["cookies"])
    # Chalice refuses binary responses (downloads) without an Accept header; API Gateway's
    # Accept rules do not apply behind a function URL.
    headers.setdefault("accept", "*/*")
    multi = parse_qs(query, keep_blank_values=True) or None
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} if multi else None,
        "multiValueQueryStringParameters": multi,
        "pathParameters": params or None, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": path,
                           "stage": "$default", "requestId": event["requestContext"].get("requestId"),
                           "identity": {"sourceIp": http.get("sourceIp"), "userAgent": http.get("userAgent")}},
        "body": event.get("body"), "isBase64Encoded": bool(event.get("isBase64Encoded")),
    }


def to_function_url_response(response: dict) -> dict:
    """Chalice's REST response → payload 2.0 (no multiValueHeaders: joined; Set-Cookie → cookies)."""
    headers = dict(response.get("headers") or {})
    cookies = []
    for name, values in (response.get("multiValueHeaders") or {}).items():
        if name.lower() == "set-cookie":
            cookies.extend(values)
        else:
            headers[name] = ", ".join(values)
    out = {"statusCode": response["statusCode"], "headers": headers, "body": response.get("body") or "",
           "isBase64Encoded": bool(response.get("isBase64Encoded"))}
    if cookies:
        out["cookies"] = cookies
    return out


def handle(app, event: dict, context) -> dict:
    """Serve one function-URL request with the Chalice app's REST routes."""
    rest = to_rest_event(event, app.routes)
    if rest is None:
        return dict(NOT_FOUND)
    return to_function_url_response(app(rest, context))
