"""Tenant isolation matrix: every management route × every kind of caller.

The routes come from `app.app.routes`; each must be classified in `ROUTES` below (a new route
fails `test_every_route_is_classified` until it is). The callers are one member of organization A
per role of reference §1.8, no key, a malformed key, a well-formed unknown key, and the admin
of another organization B. Which roles may do what is written down independently of the code in
`DOCUMENTED` (reference §1.5, §1.6, §1.8, §2.4, §2.5) and cross-checked against
`chalicelib.auth.PERMISSIONS`.

Every cell asserts the exact outcome: allowed → the route's success status (or the domain answer
the table names); denied → 403 with rokka's body (flat `invalid_authentication` body when
authentication fails, `{"error": {...}}` when a role does not allow the call); and denied calls
and reads change nothing (SQLite tables and blob files compared before and after). Each cell
starts from the same stored state: a call that changed something is undone before the next.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import pytest

from chalicelib import auth, bootstrap
from chalicelib.models import ROLES as MODEL_ROLES
from tests.conftest import image_bytes, multipart
from tests.security.figures import add, record
from tests.security.snapshots import Baseline

ORG, OTHER_ORG = "iso-a", "iso-b"

# --- callers ----------------------------------------------------------------------------------

ROLES = ("admin", "write", "read", "upload", "sourceimages:read", "sourceimages:write",
         "sourceimages:download:protected", "sourceimages:unlock", "billing:read")  # reference §1.8
NO_KEY, MALFORMED, UNKNOWN, OTHER_ADMIN = "no key", "malformed key", "unknown key", "admin of org B"
ANONYMOUS = (NO_KEY, MALFORMED, UNKNOWN)
CALLERS = ROLES + ANONYMOUS + (OTHER_ADMIN,)

# --- what each role may do (documented semantics, not read from chalicelib.auth) -----------------

DOCUMENTED: dict[str, set[str]] = {
    # "read: read metadata, including the org, but not memberships"; write reads it too.
    "org:read": {"admin", "write", "read"},
    # Options, and renaming an existing org: admins only.
    "org:write": {"admin"},
    # "admin: everything, including managing memberships".
    "memberships": {"admin"},
    # sourceimages:read/write: "source images only, no stacks"; upload: "upload only".
    "images:read": {"admin", "write", "read", "sourceimages:read", "sourceimages:write"},
    "images:upload": {"admin", "write", "upload", "sourceimages:write"},
    "images:write": {"admin", "write", "sourceimages:write"},
    # §2.4: "Only admin or sourceimages:unlock may call it."
    "images:lock": {"admin", "sourceimages:unlock"},
    # Downloading a protected original, on top of images:read: "The roles sourceimages:read and
    # sourceimages:write can't download the original binaries, when they are from protected images.
    # You have to explicitly give the sourceimages:download:protected role then. Other roles can."
    "images:download_protected": {"admin", "write", "read", "sourceimages:download:protected"},
    "stacks:read": {"admin", "write", "read"},
    "stacks:write": {"admin", "write"},
    # §1.8: write "also sees billing"; billing:read is "the /billing/{org} endpoints only".
    "billing:read": {"admin", "write", "billing:read"},
}
# §1.6: key management is refused for users holding one of these anywhere.
KEY_READ_ONLY = {"read", "upload", "sourceimages:read"}

PUBLIC = "public"  # §1.5: no authentication at all
ANY_KEY = "any valid key"  # acts on the caller's own user only
KEY_MANAGER = "key manager"  # any valid key whose user holds no KEY_READ_ONLY role


@dataclass
class Call:
    needs: tuple  # PUBLIC, ANY_KEY, KEY_MANAGER, or DOCUMENTED actions that are all required
    status: int  # the answer when allowed
    path: str  # with {placeholders} filled from the world (and {key_id}: the caller's spare key)
    body: object = None  # JSON body (bytes are sent as they are)
    headers: dict = field(default_factory=dict)
    note: str = ""


def C(needs, status, path, body=None, headers=None, note=""):
    return Call(needs if isinstance(needs, tuple) else (needs,), status, path, body, headers or {}, note)


IMG = "/sourceimages/{org}/{main}"
ROUTES: dict[tuple[str, str], list[Call]] = {
    ("GET", "/"): [C(ANY_KEY, 200, "/")],
    ("GET", "/operations"): [C(PUBLIC, 200, "/operations")],
    ("GET", "/stackoptions"): [C(PUBLIC, 200, "/stackoptions")],
    ("GET", "/openapi.json"): [C(PUBLIC, 200, "/openapi.json")],
    ("GET", "/dashboard"): [C(PUBLIC, 200, "/dashboard")],  # static files; the page signs in itself
    ("GET", "/dashboard/{name}"): [C(PUBLIC, 200, "/dashboard/app.js")],
    ("POST", "/users"): [C(PUBLIC, 200, "/users", {"email": "newcomer@example.com"})],
    ("GET", "/user"): [C(ANY_KEY, 200, "/user")],
    ("GET", "/user/apikeys"): [C(KEY_MANAGER, 200, "/user/apikeys")],
    ("POST", "/user/apikeys"): [C(KEY_MANAGER, 200, "/user/apikeys", {"comment": "another"})],
    ("GET", "/user/apikeys/current"): [C(ANY_KEY, 200, "/user/apikeys/current")],
    ("GET", "/user/apikeys/token"): [C(ANY_KEY, 200, "/user/apikeys/token")],
    ("DELETE", "/user/apikeys/{key_id}"): [C(KEY_MANAGER, 204, "/user/apikeys/{key_id}")],
    ("PUT", "/organizations/{org}"): [C("org:write", 200, "/organizations/{org}", {"display_name": "Renamed"})],
    ("GET", "/organizations/{org}"): [C("org:read", 200, "/organizations/{org}")],
    ("PUT", "/organizations/{org}/options"): [
        C("org:write", 200, "/organizations/{org}/options", {"protect_dynamic_stack": True})],
    ("PUT", "/organizations/{org}/options/{name}"): [
        C("org:write", 200, "/organizations/{org}/options/remote_fullurl_allow", True)],
    ("GET", "/organizations/{org}/memberships"): [C("memberships", 200, "/organizations/{org}/memberships")],
    ("POST", "/organizations/{org}/memberships"): [
        C("memberships", 201, "/organizations/{org}/memberships", {"roles": ["write"]})],
    ("GET", "/organizations/{org}/memberships/{user_id}"): [
        C("memberships", 200, "/organizations/{org}/memberships/{member}")],
    ("PUT", "/organizations/{org}/memberships/{user_id}"): [
        C("memberships", 200, "/organizations/{org}/memberships/{member}", {"roles": ["admin"]})],
    ("DELETE", "/organizations/{org}/memberships/{user_id}"): [
        C("memberships", 204, "/organizations/{org}/memberships/{member}")],
    ("POST", "/sourceimages/{org}"): [C("images:upload", 200, "/sourceimages/{org}", "UPLOAD")],
    ("GET", "/sourceimages/{org}"): [C("images:read", 200, "/sourceimages/{org}?limit=5")],
    ("DELETE", "/sourceimages/{org}"): [C("images:write", 204, "/sourceimages/{org}?binaryHash={main_binary}")],
    # Direct uploads need S3 presigned POSTs: on the local storage an allowed caller gets a 400.
    ("POST", "/sourceimages/{org}/uploads"): [
        C("images:upload", 400, "/sourceimages/{org}/uploads", {"filename": "big.jpg"}, note="local: no S3")],
    ("GET", "/sourceimages/{org}/uploads/{upload_id}"): [
        C("images:upload", 200, "/sourceimages/{org}/uploads/{upload_id}")],
    ("GET", "/sourceimages/{org}/{hash}"): [C("images:read", 200, IMG)],
    ("DELETE", "/sourceimages/{org}/{hash}"): [C("images:write", 204, IMG)],
    ("POST", "/sourceimages/{org}/{hash}/restore"): [C("images:write", 200, "/sourceimages/{org}/{gone}/restore")],
    ("GET", "/sourceimages/{org}/{hash}/download"): [
        C("images:read", 200, IMG + "/download"),
        C(("images:read", "images:download_protected"), 200, "/sourceimages/{org}/{protected}/download",
          note="protected original")],
    ("GET", "/sourceimages/{org}/{hash}/meta/user"): [C("images:read", 200, IMG + "/meta/user")],
    ("PATCH", "/sourceimages/{org}/{hash}/meta/user"): [C("images:write", 204, IMG + "/meta/user", {"int:count": 2})],
    ("PUT", "/sourceimages/{org}/{hash}/meta/user"): [C("images:write", 204, IMG + "/meta/user", {"title": "new"})],
    ("DELETE", "/sourceimages/{org}/{hash}/meta/user"): [C("images:write", 204, IMG + "/meta/user")],
    ("GET", "/sourceimages/{org}/{hash}/meta/user/{field}"): [C("images:read", 200, IMG + "/meta/user/title")],
    ("PUT", "/sourceimages/{org}/{hash}/meta/user/{field}"): [C("images:write", 204, IMG + "/meta/user/title", "x")],
    ("DELETE", "/sourceimages/{org}/{hash}/meta/user/{field}"): [C("images:write", 204, IMG + "/meta/user/title")],
    ("PUT", "/sourceimages/{org}/{hash}/meta/dynamic/{name}"): [
        C("images:write", 201, IMG + "/meta/dynamic/version", {"text": "v2"})],
    ("DELETE", "/sourceimages/{org}/{hash}/meta/dynamic/{name}"): [
        C("images:write", 201, "/sourceimages/{org}/{versioned}/meta/dynamic/version")],
    ("PUT", "/sourceimages/{org}/{hash}/options/protected"): [C("images:write", 201, IMG + "/options/protected", True)],
    ("PUT", "/sourceimages/{org}/{hash}/options/locked"): [C("images:lock", 200, IMG + "/options/locked", True)],
    ("PUT", "/sourceimages/{org}/{hash}/name"): [C("images:write", 204, IMG + "/name", "renamed.png")],
    # §2.5: read the source, upload into the destination (here the same organization).
    ("POST", "/sourceimages/{org}/{hash}/copy"): [
        C(("images:read", "images:upload"), 204, IMG + "/copy", headers={"Destination": ORG})],
    ("POST", "/sourceimages/{org}/copy"): [
        C(("images:read", "images:upload"), 200, "/sourceimages/{org}/copy", ["{main}"], {"Destination": ORG})],
    ("PUT", "/sourceimages/{org}/alias/{name}"): [
        C("images:write", 201, "/sourceimages/{org}/alias/fresh", {"hash": "{main}"})],
    ("GET", "/sourceimages/{org}/alias/{name}"): [C("images:read", 200, "/sourceimages/{org}/alias/{alias}")],
    ("DELETE", "/sourceimages/{org}/alias/{name}"): [C("images:write", 204, "/sourceimages/{org}/alias/{alias}")],
    ("GET", "/stacks/{org}"): [C("stacks:read", 200, "/stacks/{org}")],
    ("PUT", "/stacks/{org}/{name}"): [C("stacks:write", 201, "/stacks/{org}/fresh", "STACK")],
    ("POST", "/stacks/{org}/{name}"): [C("stacks:write", 201, "/stacks/{org}/fresh", "STACK")],
    ("GET", "/stacks/{org}/{name}"): [C("stacks:read", 200, "/stacks/{org}/{stack}")],
    ("DELETE", "/stacks/{org}/{name}"): [C("stacks:write", 204, "/stacks/{org}/{stack}")],
    ("GET", "/stats/{org}"): [C("org:read", 200, "/stats/{org}")],
    ("GET", "/billing/{org}"): [C("billing:read", 200, "/billing/{org}")],
    # The zip of a search page: reading the originals, protected ones need the download role.
    ("GET", "/sourceimages/{org}/download"): [
        C("images:read", 200, "/sourceimages/{org}/download?hash={main}"),
        C(("images:read", "images:download_protected"), 200, "/sourceimages/{org}/download?hash={protected}",
          note="protected original")],
    ("GET", "/sourceimages/{org}/binaryhash/{binary_hash}"): [
        C("images:read", 200, "/sourceimages/{org}/binaryhash/{main_binary}")],
    ("POST", "/utils/{org}/sign_url"): [C("org:read", 200, "/utils/{org}/sign_url", {"url": "/{stack}/{main}.jpg"})],
    ("DELETE", "/stacks/{org}/{name}/cache"): [C("stacks:write", 200, "/stacks/{org}/{stack}/cache")],
    ("DELETE", "/sourceimages/{org}/{hash}/cache"): [C("images:write", 200, IMG + "/cache")],
    ("DELETE", "/sourceimages/{org}/alias/{name}/cache"): [C("images:write", 200, "/sourceimages/{org}/alias/{alias}/cache")],
}
STACK_BODY = {"operations": [{"name": "resize", "options": {"width": 50}}]}
MISSING_KEY_MESSAGE = "API credentials are not supplied or not a valid format."


def app_routes() -> set[tuple[str, str]]:
    from app import app
    return {(method, path) for path, methods in app.routes.items() for method in methods}


# --- the world: organization A with one member per role, organization B, objects in A --------------

@dataclass
class World:
    client: object
    data_dir: object
    keys: dict  # caller → API key (None: no key)
    spare_keys: dict  # caller → id of a second key of the caller's user
    values: dict  # placeholder → value
    baseline: Baseline = None


def _send(client, method, path, key=None, body=None, headers=None):
    h = {"Accept": "*/*"}
    if key is not None:
        h["Api-Key"] = key
    raw = b""
    if isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    elif body is not None:
        raw = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    return client.http.request(method, path, headers=h, body=raw)


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.body)
    return json.loads(response.body) if response.body else None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from chalice.test import Client

    from app import app

    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("isolation") / "data"
    mp.setenv("DATA_DIR", str(data_dir))
    mp.setenv("STORAGE", "local")
    mp.setenv("FACE_DETECTION", "off")
    mp.delenv("ALLOW_SIGNUP", raising=False)
    bootstrap.reset()
    try:
        with Client(app) as client:
            yield _build_world(client, data_dir)
    finally:
        bootstrap.reset()
        mp.undo()


def _build_world(client, data_dir) -> World:
    svc = bootstrap.services()

    def signup(org):
        return _ok(_send(client, "POST", "/users", body={"email": f"{uuid.uuid4().hex[:8]}@example.com",
                                                         "organization": org}))["api_key"]

    keys = {NO_KEY: None, MALFORMED: "not a key!", UNKNOWN: "a" * 32 + "B" * 32}
    keys["admin"] = admin = signup(ORG)
    keys[OTHER_ADMIN] = signup(OTHER_ORG)
    for role in ROLES[1:]:
        keys[role] = _ok(_send(client, "POST", f"/organizations/{ORG}/memberships", admin, {"roles": [role]}),
                         201)["api_key"]
    member = _ok(_send(client, "POST", f"/organizations/{ORG}/memberships", admin, {"roles": ["read"]}), 201)
    spare_keys = {}
    for caller in (*ROLES, OTHER_ADMIN):
        user = svc.storage.users.get(_ok(_send(client, "GET", "/user", keys[caller]))["user_id"])
        _, record_ = auth.new_api_key(user, svc.settings.key_pepper, comment="spare")
        svc.storage.users.add_key(record_)
        spare_keys[caller] = record_.id

    def upload(seed, **fields):
        body, ctype = multipart([("filedata", f"img{seed}.png", image_bytes("PNG", seed=seed))],
                                {k: json.dumps(v) for k, v in fields.items()})
        return _ok(_send(client, "POST", f"/sourceimages/{ORG}", admin, body, {"Content-Type": ctype}))["items"][0]

    main = upload(1, **{"meta_user[0]": {"title": "hello"}})
    protected = upload(2, **{"options[0]": {"protected": True}})
    versioned = upload(3, **{"meta_dynamic[0]": {"version": {"text": "v1"}}})
    gone = upload(4)
    _ok(_send(client, "DELETE", f"/sourceimages/{ORG}/{gone['hash']}", admin), 204)
    _ok(_send(client, "PUT", f"/stacks/{ORG}/thumb", admin, STACK_BODY), 201)
    _ok(_send(client, "PUT", f"/sourceimages/{ORG}/alias/main_alias", admin, {"hash": main["hash"]}), 201)
    upload_id = uuid.uuid4().hex
    svc.storage.originals.put(f"_pending/{ORG}/{upload_id}.json",
                              json.dumps({"status": "pending", "filename": "x.png"}).encode())
    # Something of organization B too, so that leaks the other way would show in the snapshots.
    body, ctype = multipart([("filedata", "b.png", image_bytes("PNG", seed=9))], {})
    _ok(_send(client, "POST", f"/sourceimages/{OTHER_ORG}", keys[OTHER_ADMIN], body, {"Content-Type": ctype}))

    values = {"org": ORG, "main": main["hash"], "main_binary": main["binary_hash"], "protected": protected["hash"],
              "versioned": versioned["hash"], "gone": gone["hash"], "stack": "thumb", "alias": "main_alias",
              "member": member["user_id"], "upload_id": upload_id}
    w = World(client, data_dir, keys, spare_keys, values)
    w.baseline = Baseline(data_dir)
    return w


# --- expectations -----------------------------------------------------------------------------

def caller_roles(caller: str) -> set[str]:
    """The caller's roles in organization A."""
    return {caller} if caller in ROLES else set()


def expected(call: Call, caller: str) -> str:
    """ "allow", "deny-auth" (flat invalid_authentication body) or "deny-role" ({"error": ...})."""
    need = call.needs[0]
    if need == PUBLIC:
        return "allow"
    if caller in ANONYMOUS:
        return "deny-auth"
    if need == ANY_KEY:
        return "allow"
    if need == KEY_MANAGER:
        return "deny-role" if caller_roles(caller) & KEY_READ_ONLY else "allow"
    held = caller_roles(caller)
    return "allow" if all(held & DOCUMENTED[action] for action in call.needs) else "deny-role"


def _fill(value, w: World, caller: str):
    if isinstance(value, str):
        if value == "UPLOAD":
            return None
        return value.format(key_id=w.spare_keys.get(caller, "0" * 32), **w.values)
    if isinstance(value, list):
        return [_fill(v, w, caller) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, w, caller) for k, v in value.items()}
    return value


def _request(method: str, call: Call, w: World, caller: str):
    path = _fill(call.path, w, caller)
    headers = dict(call.headers)
    if call.body == "UPLOAD":
        body, headers["Content-Type"] = multipart([("filedata", "new.png", image_bytes("PNG", seed=42))], {})
    elif call.body == "STACK":
        body = STACK_BODY
    else:
        body = _fill(call.body, w, caller)
    return _send(w.client, method, path, w.keys[caller], body, headers)


def check_cell(w: World, method: str, route: str, call: Call, caller: str) -> list[str]:
    """Run one cell; the problems found (empty when the outcome is exactly the expected one)."""
    outcome = expected(call, caller)
    response = _request(method, call, w, caller)
    label = f"{caller!r} {method} {route}{' (' + call.note + ')' if call.note else ''}"
    problems = []
    try:
        body = json.loads(response.body) if response.body else None
    except ValueError:
        body = f"<{len(response.body)} bytes>"
    ctype = response.headers.get("Content-Type") or response.headers.get("content-type")
    if response.body and "/download" not in route and not route.startswith("/dashboard") and ctype != "application/json":
        problems.append(f"{label}: Content-Type {ctype!r}, not exactly application/json")
    if outcome == "allow":
        if response.status_code != call.status:
            problems.append(f"{label}: expected {call.status} (allowed), got {response.status_code} {body}")
    else:
        if response.status_code != 403:
            problems.append(f"{label}: expected 403 ({outcome}), got {response.status_code} {body}")
        elif outcome == "deny-auth":
            if not (isinstance(body, dict) and set(body) == {"code", "message", "invalid_authentication"}
                    and body["code"] == 403 and body["invalid_authentication"] is True
                    and body["message"] == MISSING_KEY_MESSAGE):
                problems.append(f"{label}: not the flat authentication-failure body: {body}")
        elif not (isinstance(body, dict) and set(body) == {"error"} and body["error"].get("code") == 403
                  and isinstance(body["error"].get("message"), str)):
            problems.append(f"{label}: not rokka's permission error body: {body}")
    changes = w.baseline.changes()
    if changes:
        if outcome != "allow" or method == "GET":
            problems.append(f"{label}: a {'read' if outcome == 'allow' else 'denied call'} changed the storage: "
                            f"{changes}")
        w.baseline.restore()
        assert not w.baseline.changes(), "restoring the baseline failed"
        add("isolation matrix", "storage restores")
    return problems


# --- tests ------------------------------------------------------------------------------------

def test_every_route_is_classified():
    routes = app_routes()
    missing = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not missing, f"classify these routes in ROUTES (which action, which success status): {missing}"
    assert not stale, f"ROUTES lists routes the app no longer has: {stale}"


def test_documented_roles_match_the_permission_table():
    """chalicelib.auth.PERMISSIONS must say what the reference says (DOCUMENTED above)."""
    assert set(ROLES) == set(MODEL_ROLES)
    assert set(auth.PERMISSIONS) == set(DOCUMENTED)
    differences = {action: {"code only": sorted(set(auth.PERMISSIONS[action]) - roles),
                            "documented only": sorted(roles - set(auth.PERMISSIONS[action]))}
                   for action, roles in DOCUMENTED.items() if set(auth.PERMISSIONS[action]) != roles}
    assert not differences
    assert set(auth.READ_ONLY_ROLES) == KEY_READ_ONLY


@pytest.mark.parametrize("caller", CALLERS)
def test_isolation_matrix(world, caller):
    started = time.perf_counter()
    problems, cells = [], 0
    for (method, route), calls in sorted(ROUTES.items()):
        for call in calls:
            problems += check_cell(world, method, route, call, caller)
            cells += 1
    add("isolation matrix", "cells", cells)
    add("isolation matrix", "callers", 1)
    record("isolation matrix", "routes", len(ROUTES))
    record("isolation matrix", "route variants", sum(len(c) for c in ROUTES.values()))
    add("isolation matrix", "ms", int((time.perf_counter() - started) * 1000))
    assert not problems, "\n".join(problems)


def test_key_routes_only_ever_reach_the_callers_own_keys(world):
    """The key routes take a key id: another user's id is unknown to them (404), nothing changes."""
    w = world
    victim = w.spare_keys["admin"]
    r = _send(w.client, "DELETE", f"/user/apikeys/{victim}", w.keys[OTHER_ADMIN])
    assert r.status_code == 404 and json.loads(r.body)["error"]["code"] == 404
    assert not w.baseline.changes()
    listed = {k["id"] for k in json.loads(_send(w.client, "GET", "/user/apikeys", w.keys[OTHER_ADMIN]).body)}
    assert victim not in listed and w.spare_keys[OTHER_ADMIN] in listed


def test_protected_originals_need_the_download_role_for_sourceimages_roles(world):
    w = world
    admin = w.keys["admin"]
    path = "/sourceimages/{org}/{protected}/download".format(**w.values)
    try:
        for roles, status in ((["sourceimages:read", "sourceimages:download:protected"], 200),
                              (["sourceimages:write", "sourceimages:download:protected"], 200),
                              (["sourceimages:read"], 403), (["sourceimages:download:protected"], 403),
                              (["upload", "sourceimages:download:protected"], 403)):
            key = _ok(_send(w.client, "POST", f"/organizations/{ORG}/memberships", admin, {"roles": roles}),
                      201)["api_key"]
            r = _send(w.client, "GET", path, key)
            assert r.status_code == status, (roles, r.status_code, r.body)
            unprotected = _send(w.client, "GET", "/sourceimages/{org}/{main}/download".format(**w.values), key)
            assert unprotected.status_code == (200 if set(roles) & DOCUMENTED["images:read"] else 403), roles
    finally:
        w.baseline.restore()


def test_a_locked_image_stays_locked_when_copied_onto(world):
    """Copying an image onto itself (or onto a locked copy elsewhere) must not unlock it: only
    admin and sourceimages:unlock may unlock (§2.4)."""
    w = world
    img = "/sourceimages/{org}/{main}".format(**w.values)
    try:
        _ok(_send(w.client, "PUT", img + "/options/locked", w.keys["admin"], True))
        for role in ("write", "sourceimages:write"):
            r = _send(w.client, "POST", img + "/copy", w.keys[role], headers={"Destination": ORG})
            assert r.status_code == 204
            assert _ok(_send(w.client, "GET", img, w.keys["admin"]))["locked"] is True
            assert _send(w.client, "DELETE", img, w.keys[role]).status_code == 403
            r = _send(w.client, "DELETE", "/sourceimages/{org}?binaryHash={main_binary}".format(**w.values),
                      w.keys[role])
            assert r.status_code == 403
    finally:
        w.baseline.restore()
