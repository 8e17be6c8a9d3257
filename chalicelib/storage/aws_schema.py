"""The DynamoDB tables and S3 buckets of the AWS adapters, as data.

One definition serves three uses: the dev switch that creates missing tables
(AWS_CREATE_RESOURCES=true against moto or a sandbox account), the contract tests,
and the packaging test that checks infra/merge.yaml declares the same keys and indexes.
Table names are TABLE_PREFIX + the logical name below.
"""
from __future__ import annotations

# logical name → key schema, attribute types, global secondary indexes (name → (hash, range)).
TABLES: dict[str, dict] = {
    "organizations": {
        "keys": ("name", None),
        "attributes": {"name": "S"},
        "indexes": {},
    },
    # Users and, under "email#<address>", one marker item per email that makes emails unique.
    "users": {
        "keys": ("id", None),
        "attributes": {"id": "S"},
        "indexes": {},
    },
    # API keys by the HMAC of the key, so authentication is one GetItem.
    "apikeys": {
        "keys": ("digest", None),
        "attributes": {"digest": "S", "user_id": "S", "id": "S"},
        "indexes": {"by-user": ("user_id", "id")},
    },
    "memberships": {
        "keys": ("organization", "user_id"),
        "attributes": {"organization": "S", "user_id": "S"},
        "indexes": {"by-user": ("user_id", "organization")},
    },
    "images": {
        "keys": ("organization", "hash"),
        "attributes": {"organization": "S", "hash": "S", "org_binary": "S", "org_state": "S",
                       "created_order": "S"},
        # org_binary = "{org}#{binary_hash}"; org_state = "{org}#live" | "{org}#deleted";
        # created_order = "{created}#{seq}" so listing newest first is one Query.
        "indexes": {"by-binary-hash": ("org_binary", "hash"), "by-created": ("org_state", "created_order")},
    },
    # Search entries: org_field = "{org}#{field}", skey = "{encoded value}\x1f{hash}" (search_keys.py).
    "imagefields": {
        "keys": ("org_field", "skey"),
        "attributes": {"org_field": "S", "skey": "S"},
        "indexes": {},
    },
    "stacks": {
        "keys": ("organization", "name"),
        "attributes": {"organization": "S", "name": "S"},
        "indexes": {},
    },
    "renderindex": {
        "keys": ("organization", "key"),
        "attributes": {"organization": "S", "key": "S", "org_stack": "S", "org_image": "S", "org_alias": "S"},
        # by-alias is sparse: only renders addressed by an alias carry org_alias.
        "indexes": {"by-stack": ("org_stack", "key"), "by-image": ("org_image", "key"),
                    "by-alias": ("org_alias", "key")},
    },
    "aliases": {
        "keys": ("organization", "name"),
        "attributes": {"organization": "S", "name": "S"},
        "indexes": {},
    },
    # Daily stats counters and hourly purge rate limits: scope = "{org}#{counter name}",
    # period = "YYYY-MM-DD" or "YYYY-MM-DDTHH".
    "counters": {
        "keys": ("scope", "period"),
        "attributes": {"scope": "S", "period": "S"},
        "indexes": {},
    },
}

BUCKETS = ("sources", "renders")  # env SOURCES_BUCKET, RENDERS_BUCKET


def create_table_kwargs(name: str, table_name: str) -> dict:
    """boto3 `create_table` arguments for one logical table (on-demand billing)."""
    spec = TABLES[name]

    def key_schema(hash_key, range_key):
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return schema

    kwargs = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": key_schema(*spec["keys"]),
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in spec["attributes"].items()],
    }
    if spec["indexes"]:
        kwargs["GlobalSecondaryIndexes"] = [
            {"IndexName": index, "KeySchema": key_schema(*keys), "Projection": {"ProjectionType": "ALL"}}
            for index, keys in spec["indexes"].items()
        ]
    return kwargs
