"""AWS adapters for metadata: DynamoDB repositories. Records are stored as a JSON `doc` next to
the key and index attributes, like the SQLite adapter.

Blobs (S3) and the CDN purger are in aws_blobs.py, the boto3 clients in aws_clients.py; their
names are re-exported here, where callers and tests have always found them.
"""
from __future__ import annotations

import json
import time

from botocore.exceptions import ClientError

from chalicelib.errors import Conflict, ServiceUnavailable
from chalicelib.models import Alias, ApiKey, Membership, Organization, SourceImage, Stack, User
from chalicelib.storage import search_keys
from chalicelib.storage.aws_blobs import CloudFrontPurger, S3BlobStore  # noqa: F401 - re-exported
from chalicelib.storage.aws_clients import (  # noqa: F401 - re-exported
    THROTTLING_CODES, _code, client, ensure_resources, reset_clients,
)


def _s(value: str) -> dict:
    return {"S": value}


def _doc(record) -> dict:
    return _s(json.dumps(record.to_dict(), sort_keys=True))


def _load(item: dict | None):
    return json.loads(item["doc"]["S"]) if item else None


# --- DynamoDB --------------------------------------------------------------------------------

class _Table:
    def __init__(self, prefix: str, name: str):
        self.name = prefix + name

    def get(self, **key) -> dict | None:
        item = client("dynamodb").get_item(TableName=self.name, Key={k: _s(v) for k, v in key.items()},
                                           ConsistentRead=True).get("Item")
        return item

    def query(self, condition: str, values: dict, index: str | None = None, forward: bool = True,
              limit: int | None = None, names: dict | None = None) -> list[dict]:
        """All items of a Query (following pages), up to `limit`."""
        kwargs = {"TableName": self.name, "KeyConditionExpression": condition,
                  "ExpressionAttributeValues": {k: _s(v) for k, v in values.items()},
                  "ScanIndexForward": forward}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if index:
            kwargs["IndexName"] = index
        items: list[dict] = []
        while True:
            if limit is not None:
                kwargs["Limit"] = max(1, limit - len(items))
            page = client("dynamodb").query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
                return items[:limit] if limit is not None else items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count(self, condition: str, values: dict, index: str | None = None) -> int:
        kwargs = {"TableName": self.name, "KeyConditionExpression": condition, "Select": "COUNT",
                  "ExpressionAttributeValues": {k: _s(v) for k, v in values.items()}}
        if index:
            kwargs["IndexName"] = index
        total = 0
        while True:
            page = client("dynamodb").query(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def put(self, item: dict, condition: str | None = None, names: dict | None = None) -> bool:
        """PutItem; False when `condition` does not hold."""
        kwargs = {"TableName": self.name, "Item": item}
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            client("dynamodb").put_item(**kwargs)
            return True
        except ClientError as err:
            if _code(err) == "ConditionalCheckFailedException":
                return False
            raise

    def delete(self, key: dict, condition: str | None = None, names: dict | None = None) -> bool:
        kwargs = {"TableName": self.name, "Key": {k: _s(v) for k, v in key.items()}, "ReturnValues": "ALL_OLD"}
        if condition:
            kwargs["ConditionExpression"] = condition
            kwargs["ExpressionAttributeNames"] = names or {}
        try:
            return bool(client("dynamodb").delete_item(**kwargs).get("Attributes"))
        except ClientError as err:
            if _code(err) == "ConditionalCheckFailedException":
                return False
            raise


def _transact(items: list[dict]) -> list[str]:
    """TransactWriteItems; returns the cancellation reason codes ([] on success)."""
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
        return []
    except ClientError as err:
        if _code(err) != "TransactionCanceledException":
            raise
        reasons = [r.get("Code", "None") for r in err.response.get("CancellationReasons", [])]
        if any(r in ("ThrottlingError", "ProvisionedThroughputExceeded") for r in reasons):
            raise ServiceUnavailable("The storage service is busy (DynamoDB TransactWriteItems: "
                                     "throttled); try again later.") from None
        return reasons


class DynamoOrganizations:
    def __init__(self, prefix: str):
        self.t = _Table(prefix, "organizations")

    def get(self, name: str) -> Organization | None:
        doc = _load(self.t.get(name=name))
        return Organization.from_dict(doc) if doc else None

    def create(self, org: Organization) -> None:
        item = {"name": _s(org.name), "doc": _doc(org), "admin_count": {"N": "0"}}
        if not self.t.put(item, "attribute_not_exists(#n)", {"#n": "name"}):
            raise Conflict(f"Organization {org.name} already exists")

    def update(self, org: Organization) -> None:
        client("dynamodb").update_item(
            TableName=self.t.name, Key={"name": _s(org.name)}, UpdateExpression="SET doc = :d",
            ConditionExpression="attribute_exists(#n)", ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":d": _doc(org)})

    def delete(self, name: str) -> None:
        self.t.delete({"name": name})

    def names(self) -> list[str]:
        # A Scan, used only by the daily retention job, never on a request path.
        names, kwargs = [], {"TableName": self.t.name, "ProjectionExpression": "#n",
                             "ExpressionAttributeNames": {"#n": "name"}}
        while True:
            page = client("dynamodb").scan(**kwargs)
            names += [i["name"]["S"] for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(names)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoUsers:
    def __init__(self, prefix: str):
        self.t = _Table(prefix, "users")
        self.keys_t = _Table(prefix, "apikeys")

    def get(self, user_id: str) -> User | None:
        doc = _load(self.t.get(id=user_id))
        return User.from_dict(doc) if doc and "email" in doc else None

    def get_by_email(self, email: str) -> User | None:
        marker = self.t.get(id="email#" + email.lower())
        return self.get(marker["user_id"]["S"]) if marker else None

    def create(self, user: User) -> None:
        # The user and its email marker in one transaction: emails stay unique.
        cond = {"ConditionExpression": "attribute_not_exists(id)"}
        reasons = _transact([
            {"Put": {"TableName": self.t.name, "Item": {"id": _s(user.id), "doc": _doc(user)}, **cond}},
            {"Put": {"TableName": self.t.name, "Item": {"id": _s("email#" + user.email.lower()),
                                                        "user_id": _s(user.id)}, **cond}},
        ])
        if reasons:
            raise Conflict(f"A user with the email {user.email} already exists")

    def add_key(self, key: ApiKey) -> None:
        self.keys_t.put({"digest": _s(key.digest), "id": _s(key.id), "user_id": _s(key.user_id),
                         "doc": _doc(key)})

    @staticmethod
    def _key(item) -> ApiKey | None:
        if not item:
            return None
        key = ApiKey.from_dict(_load(item))
        if "accessed" in item:
            key.accessed = item["accessed"]["S"]
        return key

    def key_by_digest(self, digest: str) -> ApiKey | None:
        return self._key(self.keys_t.get(digest=digest))

    def keys(self, user_id: str) -> list[ApiKey]:
        items = self.keys_t.query("user_id = :u", {":u": user_id}, index="by-user")
        return sorted((self._key(i) for i in items), key=lambda k: k.created)

    def delete_key(self, user_id: str, key_id: str) -> bool:
        items = self.keys_t.query("user_id = :u AND id = :k", {":u": user_id, ":k": key_id}, index="by-user")
        return any(self.keys_t.delete({"digest": i["digest"]["S"]}) for i in items)

    def touch_key(self, key_id: str, when: str) -> None:
        raise NotImplementedError("key access times are not tracked on DynamoDB yet")


class DynamoMemberships:
    def __init__(self, prefix: str):
        self.t = _Table(prefix, "memberships")
        self.orgs = _Table(prefix, "organizations")

    def get(self, org: str, user_id: str) -> Membership | None:
        doc = _load(self.t.get(organization=org, user_id=user_id))
        return Membership.from_dict(doc) if doc else None

    def for_org(self, org: str) -> list[Membership]:
        items = self.t.query("organization = :o", {":o": org})
        return sorted((Membership.from_dict(_load(i)) for i in items), key=lambda m: m.created)

    def for_user(self, user_id: str) -> list[Membership]:
        return [Membership.from_dict(_load(i)) for i in self.t.query("user_id = :u", {":u": user_id},
                                                                      index="by-user")]

    def _admin_delta(self, org: str, delta: int) -> dict:
        """Update of the organization's admin counter; a decrement needs two admins left."""
        update = {"TableName": self.orgs.name, "Key": {"name": _s(org)},
                  "UpdateExpression": "SET admin_count = if_not_exists(admin_count, :zero) + :d",
                  "ExpressionAttributeNames": {"#n": "name"},
                  "ExpressionAttributeValues": {":d": {"N": str(delta)}, ":zero": {"N": "0"}}}
        if delta < 0:
            update["ConditionExpression"] = "attribute_exists(#n) AND admin_count > :one"
            update["ExpressionAttributeValues"][":one"] = {"N": "1"}
        else:
            update["ConditionExpression"] = "attribute_exists(#n)"
        return {"Update": update}

    def save(self, membership: Membership) -> None:
        for _ in range(5):
            before = self.get(membership.organization, membership.user_id)
            put = {"TableName": self.t.name, "Item": {
                "organization": _s(membership.organization), "user_id": _s(membership.user_id),
                "is_admin": {"BOOL": membership.is_admin}, "doc": _doc(membership)}}
            try:
                return self._write(membership.organization, {"Put": put}, put, before, membership.is_admin)
            except _Retry:
                time.sleep(0.05)
        raise Conflict("The membership changed concurrently; try again")

    def _write(self, org: str, wrapper: dict, inner: dict, before: Membership | None,
               after_admin: bool) -> None:
        """The membership write and, when the admin count changes, the counter update, atomically."""
        old_admin = bool(before and before.is_admin)
        # Optimistic check that the membership is still as read, so the counter stays exact.
        if before is None:
            inner["ConditionExpression"] = "attribute_not_exists(user_id)"
        else:
            inner["ConditionExpression"] = "is_admin = :old"
            inner["ExpressionAttributeValues"] = {":old": {"BOOL": old_admin}}
        items = [wrapper]
        delta = int(after_admin) - int(old_admin)
        if delta:
            items.append(self._admin_delta(org, delta))
        reasons = _transact(items)
        if not reasons:
            return
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise Conflict("The organization must keep at least one active admin")
        raise _Retry()

    def delete(self, org: str, user_id: str) -> bool:
        for _ in range(5):
            before = self.get(org, user_id)
            if before is None:
                return False
            inner = {"TableName": self.t.name, "Key": {"organization": _s(org), "user_id": _s(user_id)}}
            try:
                self._write(org, {"Delete": inner}, inner, before, False)
                return True
            except _Retry:
                time.sleep(0.05)
        raise Conflict("The membership changed concurrently; try again")


def _batch_write(table: str, requests: list[dict]) -> None:
    """BatchWriteItem in chunks of 25 (its limit), retrying unprocessed items."""
    for start in range(0, len(requests), 25):
        pending = {table: requests[start:start + 25]}
        for attempt in range(8):
            pending = client("dynamodb").batch_write_item(RequestItems=pending).get("UnprocessedItems")
            if not pending:
                break
            time.sleep(0.05 * (attempt + 1))


class _Retry(Exception):
    """A concurrent writer changed the item between our read and our conditional write."""


class DynamoImages:
    def __init__(self, prefix: str):
        self.t = _Table(prefix, "images")
        self.fields = _Table(prefix, "imagefields")

    @staticmethod
    def _image(item) -> SourceImage | None:
        return SourceImage.from_dict(_load(item)) if item else None

    def get(self, org: str, hash: str) -> SourceImage | None:
        return self._image(self.t.get(organization=org, hash=hash))

    def by_prefix(self, org: str, prefix: str, limit: int = 2) -> list[SourceImage]:
        items = self.t.query("organization = :o AND begins_with(#h, :p)", {":o": org, ":p": prefix},
                             limit=limit, names={"#h": "hash"})
        return [self._image(i) for i in items]

    def by_binary_hash(self, org: str, binary_hash: str) -> list[SourceImage]:
        items = self.t.query("org_binary = :b", {":b": f"{org}#{binary_hash}"}, index="by-binary-hash")
        return sorted((self._image(i) for i in items), key=lambda i: i.created)

    @staticmethod
    def _state(org: str, deleted: bool) -> str:
        return f"{org}#{'deleted' if deleted else 'live'}"

    def list(self, org: str, limit: int, offset: int, deleted: bool = False) -> tuple[list[SourceImage], int]:
        state = self._state(org, deleted)
        total = self.t.count("org_state = :s", {":s": state}, index="by-created")
        if limit == 0:
            return [], total
        items = self.t.query("org_state = :s", {":s": state}, index="by-created", forward=False,
                             limit=offset + limit)
        return [self._image(i) for i in items[offset:]], total

    def create(self, image: SourceImage) -> bool:
        item = {
            "organization": _s(image.organization), "hash": _s(image.hash),
            "org_binary": _s(f"{image.organization}#{image.binary_hash}"),
            "org_state": _s(self._state(image.organization, image.deleted)),
            "created_order": _s(f"{image.created}#{time.time_ns():020d}"),
            "doc": _doc(image),
        }
        if not self.t.put(item, "attribute_not_exists(#h)", {"#h": "hash"}):
            return False
        self._index(image.organization, set(), search_keys.entries(image))
        return True

    def save(self, image: SourceImage) -> None:
        try:
            old = client("dynamodb").update_item(
                TableName=self.t.name, Key={"organization": _s(image.organization), "hash": _s(image.hash)},
                UpdateExpression="SET doc = :d, org_state = :s", ConditionExpression="attribute_exists(#h)",
                ExpressionAttributeNames={"#h": "hash"}, ReturnValues="ALL_OLD",
                ExpressionAttributeValues={":d": _doc(image),
                                           ":s": _s(self._state(image.organization, image.deleted))})
        except ClientError as err:
            if _code(err) == "ConditionalCheckFailedException":
                return
            raise
        before = self._image(old.get("Attributes"))
        self._index(image.organization, search_keys.entries(before) if before else set(),
                    search_keys.entries(image))

    def purge(self, org: str, hash: str) -> None:
        old = client("dynamodb").delete_item(
            TableName=self.t.name, Key={"organization": _s(org), "hash": _s(hash)},
            ReturnValues="ALL_OLD").get("Attributes")
        if old:
            self._index(org, search_keys.entries(self._image(old)), set())

    def _index(self, org: str, old: set, new: set) -> None:
        """Bring the search entries in step with the record (idempotent, so a retry repairs it)."""
        requests = [{"DeleteRequest": {"Key": {"org_field": _s(f"{org}#{f}"), "skey": _s(k)}}}
                    for f, k in old - new]
        requests += [{"PutRequest": {"Item": {"org_field": _s(f"{org}#{f}"), "skey": _s(k)}}}
                     for f, k in new - old]
        _batch_write(self.fields.name, requests)

    def find(self, org: str, field: str, low: str, high: str, limit: int) -> list[str]:
        items = self.fields.query("org_field = :f AND skey BETWEEN :lo AND :hi",
                                  {":f": f"{org}#{field}", ":lo": low, ":hi": high}, limit=limit)
        return [i["skey"]["S"].rsplit(search_keys.SEP, 1)[1] for i in items if i["skey"]["S"] < high]


class _OrgNamedRecords:
    """Records keyed by organization and name (stacks, aliases): get, create-if-absent, save, delete."""

    table = record = label = None

    def __init__(self, prefix: str):
        self.t = _Table(prefix, self.table)

    @staticmethod
    def _name(record) -> str:
        return record.name

    def get(self, org: str, name: str):
        doc = _load(self.t.get(organization=org, name=name))
        return self.record.from_dict(doc) if doc else None

    def _item(self, record) -> dict:
        return {"organization": _s(record.organization), "name": _s(self._name(record)), "doc": _doc(record)}

    def create(self, record) -> None:
        if not self.t.put(self._item(record), "attribute_not_exists(#n)", {"#n": "name"}):
            raise Conflict(f"{self.label} {self._name(record)} already exists")

    def save(self, record) -> None:
        self.t.put(self._item(record))

    def delete(self, org: str, name: str) -> bool:
        return self.t.delete({"organization": org, "name": name})


class DynamoStacks(_OrgNamedRecords):
    table, record, label = "stacks", Stack, "Stack"

    def list(self, org: str, limit: int, offset: int) -> list[Stack]:
        items = self.t.query("organization = :o", {":o": org}, limit=offset + limit)
        return [Stack.from_dict(_load(i)) for i in items[offset:]]


class DynamoRenderIndex:
    def __init__(self, prefix: str):
        self.t = _Table(prefix, "renderindex")

    def add(self, org: str, key: str, stack: str, image_hash: str, alias: str | None = None) -> None:
        item = {"organization": _s(org), "key": _s(key), "org_stack": _s(f"{org}#{stack}"),
                "org_image": _s(f"{org}#{image_hash}")}
        if alias:
            item["org_alias"] = _s(f"{org}#{alias}")
        self.t.put(item)

    def _keys(self, attr: str, value: str, index: str) -> list[str]:
        return [i["key"]["S"] for i in self.t.query(f"{attr} = :v", {":v": value}, index=index)]

    def keys_for_stack(self, org: str, stack: str) -> list[str]:
        return self._keys("org_stack", f"{org}#{stack}", "by-stack")

    def keys_for_image(self, org: str, image_hash: str) -> list[str]:
        return self._keys("org_image", f"{org}#{image_hash}", "by-image")

    def keys_for_alias(self, org: str, alias: str) -> list[str]:
        return self._keys("org_alias", f"{org}#{alias}", "by-alias")

    def remove(self, org: str, keys: list[str]) -> None:
        _batch_write(self.t.name, [{"DeleteRequest": {"Key": {"organization": _s(org), "key": _s(k)}}}
                                   for k in keys])


class DynamoAliases(_OrgNamedRecords):
    table, record, label = "aliases", Alias, "Alias"

    @staticmethod
    def _name(record) -> str:
        return record.alias


class DynamoCounters:
    def __init__(self, prefix: str):
        self.t = _Table(prefix, "counters")

    def add(self, org: str, name: str, period: str, delta: int) -> int:
        out = client("dynamodb").update_item(
            TableName=self.t.name, Key={"scope": _s(f"{org}#{name}"), "period": _s(period)},
            UpdateExpression="ADD #v :d", ExpressionAttributeNames={"#v": "value"},  # a reserved word
            ExpressionAttributeValues={":d": {"N": str(int(delta))}}, ReturnValues="UPDATED_NEW")
        return int(out["Attributes"]["value"]["N"])

    def values(self, org: str, name: str, start: str, end: str) -> dict[str, int]:
        items = self.t.query("#s = :s AND #p BETWEEN :a AND :b", {":s": f"{org}#{name}", ":a": start, ":b": end},
                             names={"#s": "scope", "#p": "period"})
        return {i["period"]["S"]: int(i["value"]["N"]) for i in items}
