"""Plain records of the domain. Storage adapters persist them as dicts (`to_dict`)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone


def now_iso() -> str:
    """ISO 8601 in UTC with an explicit offset, as rokka writes it (2019-12-10T11:13:24+00:00)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _copied(value):
    """A deep copy of JSON-like data (what records hold); other values are immutable here."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(v) for v in value)
    return value


class Record:
    def to_dict(self) -> dict:
        """dataclasses.asdict for records of plain fields, at a fraction of its cost (it runs
        on every upload and record write)."""
        return {f.name: _copied(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict):
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Organization(Record):
    id: str
    name: str
    display_name: str
    billing_email: str
    created: str
    master_organization: str = ""
    options: dict = field(default_factory=dict)
    signing_keys: list = field(default_factory=list)

    def to_api(self) -> dict:
        out = self.to_dict()
        out["master_organization"] = self.master_organization or self.name
        return out


@dataclass
class User(Record):
    id: str
    email: str
    created: str


@dataclass
class ApiKey(Record):
    id: str
    user_id: str
    # HMAC of the secret key; the key itself is never stored.
    digest: str
    created: str
    comment: str | None = None
    accessed: str | None = None

    def to_api(self) -> dict:
        out = {"id": self.id, "comment": self.comment, "created": self.created}
        if self.accessed:
            out["accessed"] = self.accessed
        return out


ROLES = (
    "admin", "write", "read", "upload", "sourceimages:read", "sourceimages:write",
    "sourceimages:download:protected", "sourceimages:unlock", "billing:read",
)


@dataclass
class Membership(Record):
    organization: str
    organization_id: str
    user_id: str
    email: str
    roles: list
    created: str
    active: bool = True
    comment: str | None = None
    last_access: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.active and "admin" in self.roles

    def to_api(self) -> dict:
        out = {
            "user_id": self.user_id,
            "email": self.email,
            "organization_id": self.organization_id,
            "roles": list(self.roles),
            "active": self.active,
            "created": self.created,
            "comment": self.comment,
        }
        if self.last_access:
            out["last_access"] = self.last_access
        return out


@dataclass
class SourceImage(Record):
    organization: str
    hash: str
    short_hash: str
    binary_hash: str
    name: str
    format: str
    mimetype: str
    size: int
    width: int
    height: int
    created: str
    user_metadata: dict = field(default_factory=dict)
    dynamic_metadata: dict = field(default_factory=dict)
    static_metadata: dict = field(default_factory=dict)
    protected: bool = False
    locked: bool = False
    opaque: bool = True
    animated: bool = False
    deleted: bool = False
    deleted_date: str | None = None

    @property
    def link(self) -> str:
        return f"/sourceimages/{self.organization}/{self.hash}"

    def to_api(self) -> dict:
        out = self.to_dict()
        out["link"] = self.link
        if not self.deleted:
            out.pop("deleted_date")
        return out


@dataclass
class Stack(Record):
    organization: str
    name: str
    created: str
    operations: list = field(default_factory=list)  # [{"name", "options", "expressions"?}]
    options: dict = field(default_factory=dict)
    expressions: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    description: str | None = None

    def to_api(self) -> dict:
        out = {
            "name": self.name,
            "organization": self.organization,
            "created": self.created,
            # PHP's client needs `options` on every operation, even when empty.
            "stack_operations": [
                {"name": op["name"], "options": op.get("options") or {},
                 **({"expressions": op["expressions"]} if op.get("expressions") else {})}
                for op in self.operations
            ],
            "stack_options": self.options,
            "stack_expressions": self.expressions,
            "stack_variables": self.variables,
            "link": f"/stacks/{self.organization}/{self.name}",
        }
        if self.description:
            out["description"] = self.description
        return out


@dataclass
class Alias(Record):
    organization: str
    alias: str
    hash: str
    created: str

    def to_api(self) -> dict:
        return self.to_dict()
