"""OpenAPI 3.0 description of the management API, served at GET /openapi.json (no auth).

Paths, methods and path parameters are generated from the Chalice routes, so a new route is
described as soon as it exists. The request bodies, query parameters and answers of the main
routes come from the hand-written table `OPERATIONS` below; a route missing from it is
described as answering 200 with JSON. Every operation also lists the errors every route can
give (400, 401, 403, 404) in rokka's error format (reference §7.1; the flat
`invalid_authentication` body for authentication failures, §1.3).
"""
from __future__ import annotations

from chalicelib.models import ROLES

TITLE = "rokka-compatible management API"
VERSION = "1"
JSON = "application/json"
# Reference §1.5: the only routes that need no authentication.
PUBLIC = {("GET", "/operations"), ("GET", "/stackoptions"), ("POST", "/users"), ("GET", "/openapi.json"),
          ("GET", "/dashboard"), ("GET", "/dashboard/{name}")}

PATH_PARAMETERS = {
    "org": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
    "hash": {"type": "string", "pattern": "^[0-9a-f]{6,40}$"},
    "user_id": {"type": "string", "format": "uuid"},
    "upload_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "binary_hash": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required=(), **properties) -> dict:
    out: dict = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
ANY_OBJECT = {"type": "object"}
ANY_VALUE: dict = {}  # any JSON value

SCHEMAS = {
    "Error": _obj(["error"], error=_obj(["code", "message"], code=INT, message=STR)),
    "AuthenticationError": _obj(["code", "message", "invalid_authentication"], code=INT, message=STR,
                                invalid_authentication={"type": "boolean", "enum": [True]}),
    "SourceImage": _obj(["organization", "hash", "short_hash", "binary_hash", "name", "format", "size",
                         "width", "height", "created", "link"],
                        organization=STR, hash=STR, short_hash=STR, binary_hash=STR, name=STR, format=STR,
                        mimetype=STR, size=INT, width=INT, height=INT, created=STR, link=STR,
                        user_metadata=ANY_OBJECT, dynamic_metadata=ANY_OBJECT, static_metadata=ANY_OBJECT,
                        protected=BOOL, locked=BOOL, deleted=BOOL),
    "SourceImageList": _obj(["total", "items"], total=INT, items={"type": "array", "items": _ref("SourceImage")},
                            links=ANY_OBJECT, cursor=STR, facets=ANY_OBJECT),
    "Operation": _obj(["name"], name=STR, options=ANY_OBJECT, expressions=ANY_OBJECT),
    "Stack": _obj(["name", "organization", "created", "stack_operations"], name=STR, organization=STR,
                  created=STR, stack_operations={"type": "array", "items": _ref("Operation")},
                  stack_options=ANY_OBJECT, stack_expressions={"type": "array"}, stack_variables=ANY_OBJECT,
                  description=STR, link=STR),
    "StackList": _obj(["items"], items={"type": "array", "items": _ref("Stack")}, cursor=STR),
    "Organization": _obj(["id", "name", "display_name", "billing_email", "created"], id=STR, name=STR,
                         display_name=STR, billing_email=STR, created=STR, master_organization=STR,
                         options=ANY_OBJECT, signing_keys={"type": "array", "items": _obj(["key"], key=STR)}),
    "Membership": _obj(["user_id", "organization_id", "roles", "active"], user_id=STR, email=STR,
                       organization_id=STR, roles={"type": "array", "items": STR}, active=BOOL, created=STR,
                       comment={"type": "string", "nullable": True}, last_access=STR, api_key=STR),
    "MembershipList": _obj(["total", "items"], total=INT, items={"type": "array", "items": _ref("Membership")}),
    "ApiKey": _obj(["id"], id=STR, comment={"type": "string", "nullable": True}, created=STR, accessed=STR,
                   api_key=STR),
    "User": _obj(["user_id"], user_id=STR, email=STR, api_keys={"type": "array", "items": _ref("ApiKey")}),
    "NewUser": _obj(["id", "email", "api_key"], id=STR, email=STR, api_key=STR),
    "Token": _obj(["token", "payload"], token=STR, payload=ANY_OBJECT),
    "Alias": _obj(["organization", "alias", "hash", "created"], organization=STR, alias=STR, hash=STR,
                  created=STR),
    "Purge": _obj(["status"], status=STR),
    "CopyResult": _obj(["created", "existing", "notfound"], created={"type": "array", "items": STR},
                       existing={"type": "array", "items": STR}, notfound={"type": "array", "items": STR}),
    "DirectUpload": _obj(["id", "url", "fields"], id=STR, method=STR, url=STR, fields=ANY_OBJECT,
                         expires_in=INT, status=STR),
    "UploadStatus": _obj(["id", "status"], id=STR, status=STR, item=_ref("SourceImage"), error=ANY_OBJECT),
    "Billing": _obj(["organization", "from", "to", "items", "total"], organization=STR, **{"from": STR}, to=STR,
                    items={"type": "array", "items": _obj(
                        ["month", "from", "to", "bytes_downloaded", "space_in_bytes", "number_of_files"],
                        month=STR, **{"from": STR}, to=STR, bytes_downloaded=INT, space_in_bytes=INT,
                        space_in_bytes_max=INT, number_of_files=INT, number_of_files_max=INT)},
                    total=_obj(["bytes_downloaded"], bytes_downloaded=INT)),
}

ROLE_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(ROLES)}}
MEMBERSHIP_BODY = _obj(["roles"], roles=ROLE_LIST, comment=STR)
STACK_BODY = _obj(["operations"], operations={"type": "array", "items": _ref("Operation")},
                  options=ANY_OBJECT, expressions={"type": "array"}, variables=ANY_OBJECT, description=STR)
UPLOAD_BODY = {"type": "object", "required": ["filedata"], "properties": {
    "filedata": {"type": "string", "format": "binary"},
    "meta_user[0]": STR, "meta_dynamic[0]": STR, "options[0]": STR}}


def _q(name: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema or STR}


def _h(name: str, required: bool = False) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": STR}


TRUE_FALSE = {"type": "string", "enum": ["true", "false"]}
# limit: 0..2000, default 100 (reference §2).
SEARCH_PARAMS = [_q("limit", {"type": "integer", "minimum": 0, "maximum": 2000, "default": 100}), _q("offset"),
                 _q("sort"), _q("deleted", TRUE_FALSE), _q("facets"),
                 _q("operator", {"type": "string", "enum": ["and", "or"]}), _q("binaryHash")]

DATE_RANGE = [_q("from", {"type": "string", "format": "date"}), _q("to", {"type": "string", "format": "date"})]

# (method, path) → status → response schema (None: no body), plus "body", "params", "errors".
OPERATIONS: dict[tuple[str, str], dict] = {
    ("GET", "/"): {200: ANY_OBJECT},
    ("GET", "/operations"): {200: ANY_OBJECT},
    ("GET", "/stackoptions"): {200: ANY_OBJECT},
    ("GET", "/openapi.json"): {200: ANY_OBJECT},
    ("POST", "/users"): {200: _ref("NewUser"), "errors": [409],
                         "body": _obj(["email"], email={"type": "string", "format": "email"},
                                      organization=PATH_PARAMETERS["org"])},
    ("GET", "/user"): {200: _ref("User")},
    ("GET", "/user/apikeys"): {200: {"type": "array", "items": _ref("ApiKey")}},
    ("POST", "/user/apikeys"): {200: _ref("ApiKey"), "body": _obj(comment=STR)},
    ("GET", "/user/apikeys/current"): {200: _ref("ApiKey")},
    ("GET", "/user/apikeys/token"): {200: _ref("Token"), "params": [
        _q("expires_in", INT), _q("renewable", TRUE_FALSE), _q("no_ip_protection", TRUE_FALSE), _q("ips")]},
    ("DELETE", "/user/apikeys/{key_id}"): {204: None},
    ("PUT", "/organizations/{org}"): {200: _ref("Organization"), "errors": [409],
                                      "body": _obj(billing_email={"type": "string", "format": "email"},
                                                   display_name=STR)},
    ("GET", "/organizations/{org}"): {200: _ref("Organization")},
    ("PUT", "/organizations/{org}/options"): {200: _ref("Organization"), "body": ANY_OBJECT},
    ("PUT", "/organizations/{org}/options/{name}"): {200: _ref("Organization"), "body": ANY_VALUE},
    ("GET", "/organizations/{org}/memberships"): {200: _ref("MembershipList")},
    ("POST", "/organizations/{org}/memberships"): {201: _ref("Membership"), "body": MEMBERSHIP_BODY},
    ("GET", "/organizations/{org}/memberships/{user_id}"): {200: _ref("Membership")},
    ("PUT", "/organizations/{org}/memberships/{user_id}"): {200: _ref("Membership"), 201: _ref("Membership"),
                                                            204: None, "errors": [409], "body": MEMBERSHIP_BODY},
    ("DELETE", "/organizations/{org}/memberships/{user_id}"): {204: None, "errors": [409]},
    ("POST", "/sourceimages/{org}"): {200: _ref("SourceImageList"), "errors": [413], "media": "multipart/form-data",
                                      "body": UPLOAD_BODY},
    ("GET", "/sourceimages/{org}"): {200: _ref("SourceImageList"), "params": SEARCH_PARAMS},
    ("GET", "/sourceimages/{org}/download"): {200: "zip", "errors": [413], "params": SEARCH_PARAMS},
    ("GET", "/sourceimages/{org}/binaryhash/{binary_hash}"): {200: _ref("SourceImageList")},
    ("DELETE", "/sourceimages/{org}"): {204: None, "params": [_q("binaryHash", required=True)]},
    ("POST", "/sourceimages/{org}/uploads"): {201: _ref("DirectUpload"),
                                              "body": _obj(filename=STR, meta_user=ANY_OBJECT,
                                                           meta_dynamic=ANY_OBJECT, options=ANY_OBJECT)},
    ("GET", "/sourceimages/{org}/uploads/{upload_id}"): {200: _ref("UploadStatus")},
    ("GET", "/sourceimages/{org}/{hash}"): {200: _ref("SourceImage"), "params": [_q("deleted", TRUE_FALSE)]},
    ("DELETE", "/sourceimages/{org}/{hash}"): {204: None},
    ("POST", "/sourceimages/{org}/{hash}/restore"): {200: _ref("SourceImage")},
    ("GET", "/sourceimages/{org}/{hash}/download"): {200: "binary"},
    ("GET", "/dashboard"): {200: "static"},
    ("GET", "/dashboard/{name}"): {200: "static"},
    ("GET", "/sourceimages/{org}/{hash}/meta/user"): {200: ANY_OBJECT},
    ("PATCH", "/sourceimages/{org}/{hash}/meta/user"): {204: None, "body": ANY_OBJECT},
    ("PUT", "/sourceimages/{org}/{hash}/meta/user"): {204: None, "body": ANY_OBJECT},
    ("DELETE", "/sourceimages/{org}/{hash}/meta/user"): {204: None},
    ("GET", "/sourceimages/{org}/{hash}/meta/user/{field}"): {200: ANY_VALUE},
    ("PUT", "/sourceimages/{org}/{hash}/meta/user/{field}"): {204: None, "body": ANY_VALUE},
    ("DELETE", "/sourceimages/{org}/{hash}/meta/user/{field}"): {204: None},
    ("PUT", "/sourceimages/{org}/{hash}/meta/dynamic/{name}"): {
        200: _ref("SourceImage"), 201: _ref("SourceImage"), 204: None, "body": ANY_OBJECT,
        "params": [_q("deletePrevious", TRUE_FALSE), _q("keepHash", TRUE_FALSE)]},
    ("DELETE", "/sourceimages/{org}/{hash}/meta/dynamic/{name}"): {
        200: _ref("SourceImage"), 201: _ref("SourceImage"), 204: None,
        "params": [_q("deletePrevious", TRUE_FALSE), _q("keepHash", TRUE_FALSE)]},
    ("PUT", "/sourceimages/{org}/{hash}/options/protected"): {
        201: _ref("SourceImage"), 204: None, "body": BOOL, "params": [_q("deletePrevious", TRUE_FALSE)]},
    ("PUT", "/sourceimages/{org}/{hash}/options/locked"): {200: _ref("SourceImage"), "body": BOOL},
    ("PUT", "/sourceimages/{org}/{hash}/name"): {204: None, "body": STR},
    ("POST", "/sourceimages/{org}/{hash}/copy"): {201: ANY_OBJECT, 204: None, 412: ANY_OBJECT,
                                                  "params": [_h("Destination", required=True), _h("Overwrite")]},
    ("POST", "/sourceimages/{org}/copy"): {200: _ref("CopyResult"), "body": {"type": "array", "items": STR},
                                           "params": [_h("Destination", required=True), _h("Overwrite")]},
    ("PUT", "/sourceimages/{org}/alias/{name}"): {200: _ref("Alias"), 201: _ref("Alias"), "errors": [409],
                                                  "body": _obj(["hash"], hash=STR),
                                                  "params": [_q("overwrite", TRUE_FALSE)]},
    ("GET", "/sourceimages/{org}/alias/{name}"): {200: _ref("Alias")},
    ("DELETE", "/sourceimages/{org}/alias/{name}"): {204: None},
    ("GET", "/stacks/{org}"): {200: _ref("StackList"), "params": [_q("limit", INT), _q("offset", INT)]},
    ("PUT", "/stacks/{org}/{name}"): {200: _ref("Stack"), 201: _ref("Stack"), "errors": [409], "body": STACK_BODY,
                                      "params": [_q("overwrite", TRUE_FALSE)]},
    ("POST", "/stacks/{org}/{name}"): {200: _ref("Stack"), 201: _ref("Stack"), "errors": [409], "body": STACK_BODY,
                                       "params": [_q("overwrite", TRUE_FALSE)]},
    ("GET", "/stacks/{org}/{name}"): {200: _ref("Stack")},
    ("DELETE", "/stacks/{org}/{name}"): {204: None},
    ("GET", "/stats/{org}"): {200: ANY_OBJECT, "params": DATE_RANGE},
    ("GET", "/billing/{org}"): {200: _ref("Billing"), "params": DATE_RANGE},
    ("POST", "/utils/{org}/sign_url"): {200: _obj(["signed_url"], signed_url=STR), "errors": [413],
                                        "body": _obj(["url"], url=STR, until=STR, round_date_up_to=INT)},
    ("DELETE", "/stacks/{org}/{name}/cache"): {200: _ref("Purge"), "errors": [429]},
    ("DELETE", "/sourceimages/{org}/{hash}/cache"): {200: _ref("Purge"), "errors": [429]},
    ("DELETE", "/sourceimages/{org}/alias/{name}/cache"): {200: _ref("Purge"), "errors": [429]},
}

COMMON_ERRORS = {400: "Invalid input", 401: "Invalid, expired or IP-mismatched token",
                 403: "Missing or invalid API key, or a role that does not allow this",
                 404: "Not found", 409: "Conflict", 412: "Precondition failed", 413: "Payload too large",
                 429: "Too many requests"}


def _response(status: int, schema) -> dict:
    if schema is None:
        return {"description": "No content"}
    if schema == "zip":
        return {"description": "The originals of one search page, as a zip",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}
    if schema == "binary":
        return {"description": "The original file, in its own media type",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
    if schema == "static":
        text = {"schema": {"type": "string"}}
        return {"description": "A file of the web dashboard",
                "content": {t: text for t in ("text/html", "text/javascript", "text/css", JSON)}}
    return {"description": "OK" if status < 300 else COMMON_ERRORS.get(status, "Error"),
            "content": {JSON: {"schema": schema}}}


def _error_response(status: int) -> dict:
    schema = ({"anyOf": [_ref("Error"), _ref("AuthenticationError")]} if status in (401, 403) else _ref("Error"))
    return {"description": COMMON_ERRORS[status], "content": {JSON: {"schema": schema}}}


def _operation(method: str, path: str, view_name: str, view_args: list[str]) -> dict:
    spec = OPERATIONS.get((method, path), {200: ANY_VALUE})
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": PATH_PARAMETERS.get(name, {"type": "string", "minLength": 1})} for name in view_args]
    parameters += spec.get("params", [])
    responses = {str(status): _response(status, schema) for status, schema in spec.items() if isinstance(status, int)}
    public = (method, path) in PUBLIC
    for status in [400, 404, *([] if public else [401, 403]), *spec.get("errors", [])]:
        responses.setdefault(str(status), _error_response(status))
    op = {"operationId": view_name, "tags": [path.strip("/").split("/")[0] or "discovery"],
          "parameters": parameters, "responses": dict(sorted(responses.items()))}
    if public:
        op["security"] = []
    if "body" in spec:
        op["requestBody"] = {"required": True, "content": {spec.get("media", JSON): {"schema": spec["body"]}}}
    return op


def document(routes: dict) -> dict:
    """The OpenAPI document for Chalice's `app.routes` ({path: {method: RouteEntry}})."""
    paths: dict = {}
    seen: set[str] = set()
    for path, methods in sorted(routes.items()):
        for method, entry in sorted(methods.items()):
            op = _operation(method, path, entry.view_name, list(entry.view_args))
            if op["operationId"] in seen:  # one view serving two methods (PUT and POST of a stack)
                op["operationId"] = f"{entry.view_name}_{method.lower()}"
            seen.add(op["operationId"])
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": TITLE, "version": VERSION,
                 "description": "Generated from the server's routes; see docs/ and the rokka API reference."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "Api-Key"},
                                "BearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"ApiKey": []}, {"BearerToken": []}],
    }

