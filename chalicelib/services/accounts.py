"""Users, API keys, organizations and memberships (reference §1)."""
from __future__ import annotations

import re
import uuid

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.models import ROLES, Membership, Organization, User, now_iso
from chalicelib.render.signing import new_signing_key
from chalicelib.storage.ports import Storage
from chalicelib.limits import MAX_KEYS_PER_USER

ORG_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_org_name(name: str) -> str:
    if not isinstance(name, str) or not ORG_NAME_RE.match(name) or name.endswith("-"):
        raise BadRequest("Organization name must be 1-63 characters of a-z, 0-9 and '-', "
                         "starting with a letter or digit.")
    return name


def _roles(body: dict) -> list[str]:
    roles = body.get("roles", body.get("role"))
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise BadRequest("roles must be a non-empty list of role names")
    roles = sorted({r.lower() for r in roles})
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise BadRequest(f"Unknown role(s): {', '.join(unknown)}. Valid roles: {', '.join(ROLES)}")
    return roles


class Accounts:
    def __init__(self, storage: Storage, pepper: str, allow_signup: bool):
        self.storage = storage
        self.pepper = pepper
        self.allow_signup = allow_signup

    # --- users and keys ---------------------------------------------------------------

    def signup(self, body: dict) -> dict:
        if not self.allow_signup:
            raise Forbidden("Signup is disabled on this server.")
        email = body.get("email")
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            raise BadRequest("A valid email is required.")
        org_name = body.get("organization")
        if org_name is not None:
            validate_org_name(org_name)
        return self.create_user(email, org_name, display_name=body.get("display_name"))

    def create_user(self, email: str, org_name: str | None, display_name: str | None = None) -> dict:
        """User + first key (+ organization with the user as admin); used by signup and the CLI."""
        user = User(id=str(uuid.uuid4()), email=email, created=now_iso())
        org = None
        if org_name:
            org = Organization(id=str(uuid.uuid4()), name=org_name, display_name=display_name or org_name,
                               billing_email=email, created=now_iso(),
                               signing_keys=[{"key": new_signing_key()}])
            self.storage.organizations.create(org)  # claims the name first (conditional)
        try:
            self.storage.users.create(user)
        except Conflict:
            if org:
                self.storage.organizations.delete(org.name)
            raise
        plain, key = auth.new_api_key(user, self.pepper, comment="first key")
        self.storage.users.add_key(key)
        if org:
            self._add_member(org, user, ["admin"])
        return {"id": user.id, "email": user.email, "api_key": plain}

    def _add_member(self, org: Organization, user: User, roles: list[str], comment=None) -> Membership:
        m = Membership(organization=org.name, organization_id=org.id, user_id=user.id, email=user.email,
                       roles=roles, created=now_iso(), comment=comment)
        self.storage.memberships.save(m)
        return m

    def _require_key_manager(self, p: Principal) -> None:
        for m in self.storage.memberships.for_user(p.user.id):
            if set(m.roles) & auth.READ_ONLY_ROLES:
                raise Forbidden("Read-only users cannot manage API keys.")

    def _is_read_only(self, p: Principal) -> bool:
        try:
            self._require_key_manager(p)
            return False
        except Forbidden:
            return True

    def get_user(self, p: Principal) -> dict:
        if self._is_read_only(p):
            return {"user_id": p.user.id}
        return {"user_id": p.user.id, "email": p.user.email,
                "api_keys": [k.to_api() for k in self.storage.users.keys(p.user.id)]}

    def list_keys(self, p: Principal) -> list[dict]:
        self._require_key_manager(p)
        return [k.to_api() for k in self.storage.users.keys(p.user.id)]

    def add_key(self, p: Principal, body: dict) -> dict:
        self._require_key_manager(p)
        comment = body.get("comment") if isinstance(body, dict) else None
        if comment is not None and not isinstance(comment, str):
            raise BadRequest("comment must be a string")
        if len(self.storage.users.keys(p.user.id)) >= MAX_KEYS_PER_USER:
            raise BadRequest(f"A user can have at most {MAX_KEYS_PER_USER} API keys.")
        plain, key = auth.new_api_key(p.user, self.pepper, comment=comment)
        self.storage.users.add_key(key)
        return {**key.to_api(), "api_key": plain}

    def current_key(self, p: Principal) -> dict:
        return p.key.to_api()

    def delete_key(self, p: Principal, key_id: str) -> None:
        self._require_key_manager(p)
        if key_id == p.key.id:
            raise BadRequest("The API key in use cannot be deleted.")
        if not self.storage.users.delete_key(p.user.id, key_id):
            raise NotFound(f"API key {key_id} not found.")

    # --- organizations -------------------------------------------------------------------

    def put_organization(self, p: Principal, name: str, body: dict) -> dict:
        validate_org_name(name)
        billing_email = body.get("billing_email")
        if billing_email is not None and (not isinstance(billing_email, str) or not EMAIL_RE.match(billing_email)):
            raise BadRequest("billing_email must be a valid email.")
        display_name = body.get("display_name")
        existing = self.storage.organizations.get(name)
        if existing is not None:
            auth.authorize(self.storage, p, name, "org:write")
            if billing_email:
                existing.billing_email = billing_email
            if isinstance(display_name, str) and display_name:
                existing.display_name = display_name
            self.storage.organizations.update(existing)
            return existing.to_api()
        org = Organization(id=str(uuid.uuid4()), name=name, display_name=display_name or name,
                           billing_email=billing_email or p.user.email, created=now_iso(),
                           master_organization=body.get("master_organization") or "",
                           signing_keys=[{"key": new_signing_key()}])
        self.storage.organizations.create(org)
        self._add_member(org, p.user, ["admin"])
        return org.to_api()

    def get_organization(self, p: Principal, name: str) -> dict:
        auth.authorize(self.storage, p, name, "org:read")
        org = self.storage.organizations.get(name)
        if org is None:
            raise NotFound(f"Organization {name} not found.")
        return org.to_api()

    # --- memberships ---------------------------------------------------------------------

    def _org_for_admin(self, p: Principal, org_name: str) -> Organization:
        auth.authorize(self.storage, p, org_name, "memberships")
        org = self.storage.organizations.get(org_name)
        if org is None:
            raise NotFound(f"Organization {org_name} not found.")
        return org

    def list_memberships(self, p: Principal, org_name: str) -> dict:
        self._org_for_admin(p, org_name)
        items = [m.to_api() for m in self.storage.memberships.for_org(org_name)]
        return {"total": len(items), "items": items}

    def get_membership(self, p: Principal, org_name: str, user_id: str) -> dict:
        self._org_for_admin(p, org_name)
        m = self.storage.memberships.get(org_name, user_id)
        if m is None:
            raise NotFound(f"User {user_id} is not a member of {org_name}.")
        return m.to_api()

    def put_membership(self, p: Principal, org_name: str, user_id: str, body: dict) -> tuple[int, dict | None]:
        """201 new, 200 changed, 204 unchanged; 409 if it would remove the last admin."""
        org = self._org_for_admin(p, org_name)
        roles = _roles(body)
        comment = body.get("comment")
        user = self.storage.users.get(user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found.")
        m = self.storage.memberships.get(org_name, user_id)
        if m is None:
            return 201, self._add_member(org, user, roles, comment).to_api()
        if sorted(m.roles) == roles and (comment is None or comment == m.comment) and m.active:
            return 204, None
        m.roles, m.active = roles, True
        if comment is not None:
            m.comment = comment
        self.storage.memberships.save(m)
        return 200, m.to_api()

    def create_member_user(self, p: Principal, org_name: str, body: dict) -> dict:
        """POST memberships: a new user with a key, holding the given roles."""
        org = self._org_for_admin(p, org_name)
        roles = _roles(body)
        comment = body.get("comment")
        user_id = str(uuid.uuid4())
        user = User(id=user_id, email=f"{user_id}@{org_name}.members.invalid", created=now_iso())
        self.storage.users.create(user)
        plain, key = auth.new_api_key(user, self.pepper, comment=comment)
        self.storage.users.add_key(key)
        m = self._add_member(org, user, roles, comment)
        return {**m.to_api(), "api_key": plain}

    def delete_membership(self, p: Principal, org_name: str, user_id: str) -> None:
        self._org_for_admin(p, org_name)
        if not self.storage.memberships.delete(org_name, user_id):
            raise NotFound(f"User {user_id} is not a member of {org_name}.")
