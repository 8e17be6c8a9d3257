"""The API's function-URL entry point (app.handler with payload 2.0 events, chalicelib/function_url_events.py):
route resolution as API Gateway does it, COPY onto the copy route, binary bodies both ways."""
from __future__ import annotations

import base64
import json

from chalicelib import function_url_events as fue
from tests.conftest import image_bytes, multipart, signup


def event(method, path, query="", headers=None, body=None, binary=False):
    ev = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
          "headers": {k.lower(): v for k, v in (headers or {}).items()},
          "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.9"},
                             "requestId": "r1"}, "isBase64Encoded": binary}
    if body is not None:
        ev["body"] = base64.b64encode(body).decode() if binary else body
    return ev


def call(ev):
    from app import handler
    return handler(ev, None)


def test_literal_segments_win_over_parameters():
    from app import app
    assert fue.match_route(app.routes, "/sourceimages/o/download") == ("/sourceimages/{org}/download", {"org": "o"})
    assert fue.match_route(app.routes, "/sourceimages/o/abc123") == (
        "/sourceimages/{org}/{hash}", {"org": "o", "hash": "abc123"})
    assert fue.match_route(app.routes, "/sourceimages/o/alias/x/cache")[0] == "/sourceimages/{org}/alias/{name}/cache"
    assert fue.match_route(app.routes, "/sourceimages/o/a%20b/meta/user/f%2Fg")[1]["field"] == "f/g"
    assert fue.match_route(app.routes, "/nope") is None
    assert fue.copy_as_post("COPY", "/sourceimages/o/h?x=1") == ("POST", "/sourceimages/o/h/copy?x=1")
    assert fue.copy_as_post("GET", "/a") == ("GET", "/a")


def test_responses_fold_multi_value_headers_and_cookies():
    out = fue.to_function_url_response({"statusCode": 201, "headers": {"A": "1"},
                                        "multiValueHeaders": {"Vary": ["x", "y"], "Set-Cookie": ["c=1", "d=2"]},
                                        "body": "{}"})
    assert out == {"statusCode": 201, "headers": {"A": "1", "Vary": "x, y"}, "body": "{}",
                   "isBase64Encoded": False, "cookies": ["c=1", "d=2"]}


def test_handler_serves_uploads_searches_copies_and_binary_downloads(client):
    from tests.conftest import Api
    key = signup(Api(client), "acme")["api_key"]
    assert call(event("PUT", "/organizations/acme-two", headers={"Api-Key": key, "Content-Type": "application/json"},
                      body=json.dumps({"billing_email": "b@example.org"})))["statusCode"] == 200
    png = image_bytes("PNG", size=(12, 9))
    body, ctype = multipart([("filedata", "a.png", png)], {})
    up = call(event("POST", "/sourceimages/acme", headers={"Api-Key": key, "Content-Type": ctype},
                    body=body, binary=True))
    assert up["statusCode"] == 200, up
    h = json.loads(up["body"])["items"][0]["hash"]
    listed = call(event("GET", "/sourceimages/acme", "limit=1&name=a.png", headers={"Api-Key": key}))
    assert [i["hash"] for i in json.loads(listed["body"])["items"]] == [h]
    copy = call(event("COPY", f"/sourceimages/acme/{h}", headers={"Api-Key": key, "Destination": "acme-two"}))
    assert copy["statusCode"] == 201, copy
    again = call(event("COPY", f"/sourceimages/acme/{h}", headers={"Api-Key": key, "Destination": "acme-two",
                                                                     "Overwrite": "F"}))
    assert again["statusCode"] == 412
    # No Accept header (a function URL has no API Gateway Accept rules): the original comes back whole.
    down = call(event("GET", f"/sourceimages/acme-two/{h}/download", headers={"Api-Key": key}))
    assert down["statusCode"] == 200 and down["isBase64Encoded"] and base64.b64decode(down["body"]) == png
    assert call(event("GET", "/no/such/path"))["statusCode"] == 404
