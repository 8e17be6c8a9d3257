"""Chalice app: rokka's management API (thin routes) and the render Lambda entry point."""
from __future__ import annotations

import os

from chalice import Chalice, Response

from chalicelib import auth, function_url_events, openapi
from chalicelib.bootstrap import services
from chalicelib.cli_guard import refuse_unsupported_chalice_commands
from chalicelib.config import refuse_development_secrets
from chalicelib.errors import RokkaError
from chalicelib.operations import registry
from chalicelib.render import stack_options
from chalicelib.services import dashboard
from chalicelib.services.render import SVG_CSP, function_url_response
from chalicelib.services.sourceimages import uploads_from_form
from chalicelib.services.stacks import page_number
from chalicelib.web import (ANY_CONTENT_TYPE, api_view, empty_response, json_response, parse_form,
                            parse_fields_or_json, parse_json_any, parse_json_object, parse_json_value)

refuse_unsupported_chalice_commands()  # `chalice deploy` stops here, naming `make deploy`
refuse_development_secrets()  # a deployed function fails its cold start without real secrets

app = Chalice(app_name="rokka-clone")
# WebP/AVIF/HEIF are not in Chalice's default binary types; without them bytes responses crash.
app.api.binary_types.extend(["image/webp", "image/avif", "image/heic", "image/heif", "image/tiff",
                             "image/jp2", "image/jxl", "image/svg+xml", "image/vnd.adobe.photoshop", "application/pdf",
                             "font/ttf", "font/otf", "video/mp4", "video/webm", "multipart/form-data"])


def handler(event, context):
    """APIHandler's entry point (infra/merge.yaml): REST API events go straight to Chalice; the API's
    function URL (payload 2.0, which also carries rokka's COPY) goes through the event adapter."""
    if function_url_events.is_function_url_event(event):
        return function_url_events.handle(app, event, context)
    return app(event, context)


def route(path: str, methods: list[str]):
    """A Chalice route that accepts any Content-Type and answers errors as rokka's error JSON."""
    def decorator(fn):
        return app.route(path, methods=methods, content_types=ANY_CONTENT_TYPE)(api_view(fn))
    return decorator


def req():
    return app.current_request


def principal() -> auth.Principal:
    svc = services()
    return auth.authenticate(svc.storage, req().headers, svc.settings.key_pepper, source_ip(),
                             svc.settings.jwt_secret)


def source_ip() -> str | None:
    """The caller's address as API Gateway saw it (IP-bound JWTs)."""
    return ((req().context or {}).get("identity") or {}).get("sourceIp")


def query() -> dict:
    return dict(req().query_params or {})


def flag(name: str) -> bool:
    return str(query().get(name, "false")).lower() == "true"


def body_or_query_flag(name: str) -> bool:
    """rokka.js sends deletePrevious in a JSON body even on DELETE; others use the query."""
    if name in query():
        return flag(name)
    try:
        body = parse_json_object(req().raw_body)
    except RokkaError:
        return False
    return str(body.get(name, "false")).lower() == "true"


def overwrite() -> bool:
    """The copy Overwrite header: anything but F (false) overwrites, as in WebDAV."""
    return (req().headers.get("overwrite") or "T").strip().upper() != "F"


def change_response(change):
    """201 + Location + the new image, 204 when nothing changed, 200 (+ Warning) with keepHash."""
    if change.image is None:
        return empty_response(204)
    headers = {}
    if change.location:
        headers["Location"] = change.location
    if change.warning:
        headers["Warning"] = change.warning
    return json_response(change.image.to_api(), change.status, headers)


# --- discovery (no auth for /operations and /stackoptions) ----------------------------------

@route("/", ["GET"])
def index():
    principal()
    return json_response({"resources": ["/operations", "/organizations", "/sourceimages", "/stacks",
                                        "/stackoptions", "/users", "/stats", "/billing"], "environment": "local"})


@route("/operations", ["GET"])
def list_operations():
    return json_response(registry.describe_all())


@route("/stackoptions", ["GET"])
def list_stack_options():
    return json_response(stack_options.describe_all())


@route("/openapi.json", ["GET"])
def openapi_document():
    return json_response(openapi.document(app.routes))


# --- the web dashboard (static files, see chalicelib/services/dashboard.py) -----------------

@route("/dashboard", ["GET"])
def dashboard_index():
    body, headers = dashboard.asset("index.html")
    return Response(body=body, status_code=200, headers=headers)


@route("/dashboard/{name}", ["GET"])
def dashboard_file(name):
    body, headers = dashboard.asset(name, services().settings.render_domain)
    return Response(body=body, status_code=200, headers=headers)


# --- users and API keys -----------------------------------------------------------------------

@route("/users", ["POST"])
def create_user():
    return json_response(services().accounts.signup(parse_json_object(req().raw_body)))


@route("/user", ["GET"])
def get_user():
    return json_response(services().accounts.get_user(principal()))


@route("/user/apikeys", ["GET"])
def list_api_keys():
    return json_response(services().accounts.list_keys(principal()))


@route("/user/apikeys", ["POST"])
def add_api_key():
    return json_response(services().accounts.add_key(principal(), parse_json_object(req().raw_body)))


@route("/user/apikeys/current", ["GET"])
def current_api_key():
    return json_response(services().accounts.current_key(principal()))


@route("/user/apikeys/token", ["GET"])
def get_api_token():
    return json_response(services().tokens.issue(principal(), query()))


@route("/user/apikeys/{key_id}", ["DELETE"])
def delete_api_key(key_id):
    services().accounts.delete_key(principal(), key_id)
    return empty_response()


# --- organizations and memberships ------------------------------------------------------------

@route("/organizations/{org}", ["PUT"])
def put_organization(org):
    return json_response(services().accounts.put_organization(principal(), org, parse_json_object(req().raw_body)))


@route("/organizations/{org}", ["GET"])
def get_organization(org):
    return json_response(services().accounts.get_organization(principal(), org))


@route("/organizations/{org}/options", ["PUT"])
def put_organization_options(org):
    return json_response(services().org_options.set_many(principal(), org, parse_json_object(req().raw_body)))


@route("/organizations/{org}/options/{name}", ["PUT"])
def put_organization_option(org, name):
    return json_response(services().org_options.set_one(principal(), org, name, parse_json_any(req().raw_body)))


@route("/organizations/{org}/memberships", ["GET"])
def list_memberships(org):
    return json_response(services().accounts.list_memberships(principal(), org))


@route("/organizations/{org}/memberships", ["POST"])
def create_member_user(org):
    body = parse_json_object(req().raw_body)
    return json_response(services().accounts.create_member_user(principal(), org, body), 201)


@route("/organizations/{org}/memberships/{user_id}", ["GET"])
def get_membership(org, user_id):
    return json_response(services().accounts.get_membership(principal(), org, user_id))


@route("/organizations/{org}/memberships/{user_id}", ["PUT"])
def put_membership(org, user_id):
    body = parse_json_object(req().raw_body)
    status, data = services().accounts.put_membership(principal(), org, user_id, body)
    return empty_response(204) if data is None else json_response(data, status)


@route("/organizations/{org}/memberships/{user_id}", ["DELETE"])
def delete_membership(org, user_id):
    services().accounts.delete_membership(principal(), org, user_id)
    return empty_response()


# --- source images ---------------------------------------------------------------------------

@route("/sourceimages/{org}", ["POST"])
def upload_images(org):
    p, svc = principal(), services()
    form = parse_form(req().headers.get("content-type"), req().raw_body, svc.settings.max_upload_bytes)
    return json_response(svc.images.upload(p, org, uploads_from_form(form.fields, form.files)))


@route("/sourceimages/{org}", ["GET"])
def list_images(org):
    return json_response(services().search.search(principal(), org, query()))


@route("/sourceimages/{org}", ["DELETE"])
def delete_images_by_binary_hash(org):
    p = principal()
    binary_hash = query().get("binaryHash") or query().get("binaryhash")
    if not binary_hash:
        return json_response({"error": {"code": 400, "message": "binaryHash is required"}}, 400)
    services().images.delete_by_binary_hash(p, org, binary_hash)
    return empty_response()


@route("/sourceimages/{org}/download", ["GET"])
def download_images_zip(org):
    data = services().downloads.zip(principal(), org, query())
    return Response(body=data, status_code=200, headers={
        "Content-Type": "application/zip", "Content-Disposition": f'attachment; filename="{org}.zip"'})


@route("/sourceimages/{org}/binaryhash/{binary_hash}", ["GET"])
def list_images_by_binary_hash(org, binary_hash):
    return json_response(services().search.search(principal(), org, {**query(), "binaryHash": binary_hash}))


@route("/sourceimages/{org}/uploads", ["POST"])
def start_direct_upload(org):
    return json_response(services().uploads.start(principal(), org, parse_json_object(req().raw_body)), 201)


@route("/sourceimages/{org}/uploads/{upload_id}", ["GET"])
def direct_upload_status(org, upload_id):
    return json_response(services().uploads.status(principal(), org, upload_id))


@route("/sourceimages/{org}/{hash}", ["GET"])
def get_image(org, hash):
    return json_response(services().images.get(principal(), org, hash, include_deleted=flag("deleted")))


@route("/sourceimages/{org}/{hash}", ["DELETE"])
def delete_image(org, hash):
    services().images.delete(principal(), org, hash)
    return empty_response()


@route("/sourceimages/{org}/{hash}/restore", ["POST"])
def restore_image(org, hash):
    return json_response(services().images.restore(principal(), org, hash))


@route("/sourceimages/{org}/{hash}/download", ["GET"])
def download_image(org, hash):
    data, image = services().images.download(principal(), org, hash)
    name = image.name.replace('"', "")
    headers = {"Content-Type": image.mimetype, "Content-Disposition": f'attachment; filename="{name}"'}
    if image.mimetype == "image/svg+xml":
        headers["Content-Security-Policy"] = SVG_CSP  # an uploaded SVG must not run scripts
    return Response(body=data, status_code=200, headers=headers)


@route("/sourceimages/{org}/{hash}/meta/user", ["GET"])
def get_user_metadata(org, hash):
    return json_response(services().images.get_user_metadata(principal(), org, hash))


@route("/sourceimages/{org}/{hash}/meta/user", ["PATCH"])
def patch_user_metadata(org, hash):
    services().images.patch_user_metadata(principal(), org, hash, parse_json_value(req().raw_body))
    return empty_response()


@route("/sourceimages/{org}/{hash}/meta/user", ["PUT"])
def replace_user_metadata(org, hash):
    services().images.replace_user_metadata(principal(), org, hash, parse_json_value(req().raw_body))
    return empty_response()


@route("/sourceimages/{org}/{hash}/meta/user", ["DELETE"])
def delete_user_metadata(org, hash):
    services().images.delete_user_field(principal(), org, hash, None)
    return empty_response()


@route("/sourceimages/{org}/{hash}/meta/user/{field}", ["GET"])
def get_user_field(org, hash, field):
    return json_response(services().images.get_user_metadata(principal(), org, hash, field))


@route("/sourceimages/{org}/{hash}/meta/user/{field}", ["PUT"])
def put_user_field(org, hash, field):
    services().images.set_user_field(principal(), org, hash, field, parse_json_any(req().raw_body))
    return empty_response()


@route("/sourceimages/{org}/{hash}/meta/user/{field}", ["DELETE"])
def delete_user_field(org, hash, field):
    services().images.delete_user_field(principal(), org, hash, field)
    return empty_response()


@route("/sourceimages/{org}/{hash}/meta/dynamic/{name}", ["PUT"])
def put_dynamic_metadata(org, hash, name):
    change = services().changes.set_dynamic(principal(), org, hash, name, parse_json_value(req().raw_body),
                                            body_or_query_flag("deletePrevious"), flag("keepHash"))
    return change_response(change)


@route("/sourceimages/{org}/{hash}/meta/dynamic/{name}", ["DELETE"])
def delete_dynamic_metadata(org, hash, name):
    change = services().changes.delete_dynamic(principal(), org, hash, name, body_or_query_flag("deletePrevious"),
                                               flag("keepHash"))
    return change_response(change)


@route("/sourceimages/{org}/{hash}/options/protected", ["PUT"])
def put_protected(org, hash):
    change = services().changes.set_protected(principal(), org, hash, parse_json_value(req().raw_body),
                                              body_or_query_flag("deletePrevious"))
    return change_response(change)


@route("/sourceimages/{org}/{hash}/options/locked", ["PUT"])
def put_locked(org, hash):
    image = services().changes.set_locked(principal(), org, hash, parse_json_value(req().raw_body))
    return json_response(image.to_api())


@route("/sourceimages/{org}/{hash}/name", ["PUT"])
def put_name(org, hash):
    services().changes.rename(principal(), org, hash, parse_json_any(req().raw_body))
    return empty_response()


@route("/sourceimages/{org}/{hash}/copy", ["POST"])
def copy_image(org, hash):
    status = services().changes.copy(principal(), org, hash, req().headers.get("destination"), overwrite())
    if status == 412:
        return json_response({}, 412)
    return json_response({}, 201) if status == 201 else empty_response(204)


@route("/sourceimages/{org}/copy", ["POST"])
def copy_images(org):
    result = services().changes.copy_many(principal(), org, parse_json_value(req().raw_body),
                                          req().headers.get("destination"), overwrite())
    return json_response(result)


@route("/sourceimages/{org}/alias/{name}", ["PUT"])
def put_alias(org, name):
    status, data = services().aliases.put(principal(), org, name, parse_json_object(req().raw_body),
                                          flag("overwrite"))
    return json_response(data, status)


@route("/sourceimages/{org}/alias/{name}", ["GET"])
def get_alias(org, name):
    return json_response(services().aliases.get(principal(), org, name))


@route("/sourceimages/{org}/alias/{name}", ["DELETE"])
def delete_alias(org, name):
    services().aliases.delete(principal(), org, name)
    return empty_response()


# --- stacks ----------------------------------------------------------------------------------

@route("/stacks/{org}", ["GET"])
def list_stacks(org):
    q = query()
    limit, offset = page_number(q.get("limit"), 1000), page_number(q.get("offset"), 0)
    return json_response(services().stacks.list(principal(), org, limit, offset))


@route("/stacks/{org}/{name}", ["PUT", "POST"])
def put_stack(org, name):
    p = principal()
    status, data = services().stacks.put(p, org, name, parse_json_value(req().raw_body), flag("overwrite"))
    return json_response(data, status)


@route("/stacks/{org}/{name}", ["GET"])
def get_stack(org, name):
    return json_response(services().stacks.get(principal(), org, name))


@route("/stacks/{org}/{name}", ["DELETE"])
def delete_stack(org, name):
    services().stacks.delete(principal(), org, name)
    return empty_response()


# --- stats, URL signing, cache purges ------------------------------------------------------

@route("/stats/{org}", ["GET"])
def get_stats(org):
    return json_response(services().stats.report(principal(), org, query()))


@route("/billing/{org}", ["GET"])
def get_billing(org):
    return json_response(services().stats.billing(principal(), org, query()))


@route("/utils/{org}/sign_url", ["POST"])
def sign_url(org):
    p, svc = principal(), services()
    body = parse_fields_or_json(req().headers.get("content-type"), req().raw_body, svc.settings.max_upload_bytes)
    return json_response(svc.url_signer.sign(p, org, body))


def purge_response(outcome):
    return json_response(outcome.body, outcome.status, outcome.headers)


@route("/stacks/{org}/{name}/cache", ["DELETE"])
def purge_stack_cache(org, name):
    return purge_response(services().purges.stack(principal(), org, name))


@route("/sourceimages/{org}/{hash}/cache", ["DELETE"])
def purge_image_cache(org, hash):
    return purge_response(services().purges.image(principal(), org, hash))


@route("/sourceimages/{org}/alias/{name}/cache", ["DELETE"])
def purge_alias_cache(org, name):
    return purge_response(services().purges.alias(principal(), org, name))


# --- large uploads: S3 notifies this function for objects under _uploads/ -------------------

@app.on_s3_event(bucket=os.environ.get("SOURCES_BUCKET", "rokka-sources"), prefix="_uploads/",
                 events=["s3:ObjectCreated:*"], name="register_upload")
def register_upload(event):
    services().uploads.register(event.key)


# --- maintenance ----------------------------------------------------------------------------

@app.schedule("rate(1 day)", name="purge_deleted")
def purge_deleted(event):
    services().retention.purge()


# --- render (Lambda function URL, payload 2.0) -----------------------------------------------

@app.lambda_function(name="render")
def render(event, context):
    svc = services()
    result = svc.renderer.handle(event.get("rawPath", "/"), event.get("rawQueryString", ""),
                                 event.get("headers") or {})
    return function_url_response(result, event, svc.settings.max_inline_bytes, svc.settings.render_domain)
