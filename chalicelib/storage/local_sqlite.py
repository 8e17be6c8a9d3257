"""Metadata repositories on SQLite (WAL), one connection per thread.

Records are stored as JSON documents next to the columns that are queried,
which keeps this adapter shaped like the DynamoDB one.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager

from chalicelib.errors import Conflict
from chalicelib.storage import search_keys
from chalicelib.models import Alias, ApiKey, Membership, Organization, SourceImage, Stack, User

SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id);
CREATE TABLE IF NOT EXISTS memberships (
    org TEXT NOT NULL, user_id TEXT NOT NULL, is_admin INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (org, user_id));
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id);
CREATE TABLE IF NOT EXISTS images (
    org TEXT NOT NULL, hash TEXT NOT NULL, binary_hash TEXT NOT NULL, created TEXT NOT NULL,
    seq INTEGER NOT NULL, deleted INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (org, hash));
CREATE INDEX IF NOT EXISTS images_binary ON images (org, binary_hash);
CREATE INDEX IF NOT EXISTS images_created ON images (org, deleted, created, seq);
CREATE TABLE IF NOT EXISTS imagefields (
    org TEXT NOT NULL, field TEXT NOT NULL, skey TEXT NOT NULL, PRIMARY KEY (org, field, skey));
CREATE TABLE IF NOT EXISTS stacks (org TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (org, name));
CREATE TABLE IF NOT EXISTS render_index (
    org TEXT NOT NULL, key TEXT NOT NULL, stack TEXT NOT NULL, image TEXT NOT NULL, alias TEXT,
    PRIMARY KEY (org, key));
CREATE TABLE IF NOT EXISTS aliases (org TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (org, name));
CREATE INDEX IF NOT EXISTS render_index_stack ON render_index (org, stack);
CREATE INDEX IF NOT EXISTS render_index_image ON render_index (org, image);
CREATE TABLE IF NOT EXISTS counters (org TEXT NOT NULL, name TEXT NOT NULL, period TEXT NOT NULL,
    value INTEGER NOT NULL, PRIMARY KEY (org, name, period));
"""


MAX_IDLE_CONNECTIONS = 16


class _Held:
    """A thread's connection in its threading.local: when the thread ends, the local's values
    are dropped and the connection goes to the idle list (or is closed when that is full)."""

    __slots__ = ("conn", "idle")

    def __init__(self, conn: sqlite3.Connection, idle: list):
        self.conn, self.idle = conn, idle

    def __del__(self):
        try:
            if not self.conn.in_transaction and len(self.idle) < MAX_IDLE_CONNECTIONS:
                self.idle.append(self.conn)  # (in a transaction only after a bare BEGIN left open)
            else:
                self.conn.close()
        except Exception:  # noqa: BLE001 - a closed connection, or interpreter shutdown
            pass


class Database:
    """SQLite connections to one file: one per thread, handed on to later threads."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._idle: list[sqlite3.Connection] = []  # connections of threads that have ended
        conn = self.conn()
        conn.executescript(SCHEMA)  # executescript manages its own transaction
        # Data directories made before aliases existed lack the column.
        columns = {row[1] for row in conn.execute("PRAGMA table_info(render_index)")}
        if "alias" not in columns:
            conn.execute("ALTER TABLE render_index ADD COLUMN alias TEXT")
        conn.execute("CREATE INDEX IF NOT EXISTS render_index_alias ON render_index (org, alias)")

    def conn(self) -> sqlite3.Connection:
        """This thread's connection. The local server runs each HTTP connection on a new thread,
        so a connection goes back to `_idle` when its thread ends and the next thread takes it:
        opening one (connect, pragmas, schema read) cost ~0.3 ms of every request."""
        held = getattr(self._local, "held", None)
        if held is None:
            try:
                conn = self._idle.pop()  # atomic under the GIL, as append
            except IndexError:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=30000")
            held = self._local.held = _Held(conn, self._idle)
        return held.conn

    @contextmanager
    def transaction(self):
        """A write transaction that takes the write lock up front (no upgrade deadlocks)."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def one(self, sql: str, args: tuple = ()) -> dict | None:
        row = self.conn().execute(sql, args).fetchone()
        return json.loads(row[0]) if row else None

    def many(self, sql: str, args: tuple = ()) -> list[dict]:
        return [json.loads(r[0]) for r in self.conn().execute(sql, args).fetchall()]


def _doc(record) -> str:
    return json.dumps(record.to_dict(), sort_keys=True)


class SqliteOrganizations:
    def __init__(self, db: Database):
        self.db = db

    def get(self, name: str) -> Organization | None:
        doc = self.db.one("SELECT doc FROM organizations WHERE name = ?", (name,))
        return Organization.from_dict(doc) if doc else None

    def create(self, org: Organization) -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO organizations (name, doc) VALUES (?, ?)", (org.name, _doc(org)))
        except sqlite3.IntegrityError:
            raise Conflict(f"Organization {org.name} already exists") from None

    def update(self, org: Organization) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE organizations SET doc = ? WHERE name = ?", (_doc(org), org.name))

    def delete(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM organizations WHERE name = ?", (name,))

    def names(self) -> list[str]:
        return [r[0] for r in self.db.conn().execute("SELECT name FROM organizations ORDER BY name")]


class SqliteUsers:
    def __init__(self, db: Database):
        self.db = db

    def get(self, user_id: str) -> User | None:
        doc = self.db.one("SELECT doc FROM users WHERE id = ?", (user_id,))
        return User.from_dict(doc) if doc else None

    def get_by_email(self, email: str) -> User | None:
        doc = self.db.one("SELECT doc FROM users WHERE email = ?", (email.lower(),))
        return User.from_dict(doc) if doc else None

    def create(self, user: User) -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO users (id, email, doc) VALUES (?, ?, ?)",
                             (user.id, user.email.lower(), _doc(user)))
        except sqlite3.IntegrityError:
            raise Conflict(f"A user with the email {user.email} already exists") from None

    def add_key(self, key: ApiKey) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO api_keys (id, user_id, digest, doc) VALUES (?, ?, ?, ?)",
                         (key.id, key.user_id, key.digest, _doc(key)))

    def key_by_digest(self, digest: str) -> ApiKey | None:
        doc = self.db.one("SELECT doc FROM api_keys WHERE digest = ?", (digest,))
        return ApiKey.from_dict(doc) if doc else None

    def keys(self, user_id: str) -> list[ApiKey]:
        docs = self.db.many("SELECT doc FROM api_keys WHERE user_id = ? ORDER BY rowid", (user_id,))
        return [ApiKey.from_dict(d) for d in docs]

    def delete_key(self, user_id: str, key_id: str) -> bool:
        with self.db.transaction() as conn:
            cur = conn.execute("DELETE FROM api_keys WHERE id = ? AND user_id = ?", (key_id, user_id))
            return cur.rowcount > 0

    def touch_key(self, key_id: str, when: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE api_keys SET doc = json_set(doc, '$.accessed', ?) WHERE id = ?",
                         (when, key_id))


class SqliteMemberships:
    def __init__(self, db: Database):
        self.db = db

    def get(self, org: str, user_id: str) -> Membership | None:
        doc = self.db.one("SELECT doc FROM memberships WHERE org = ? AND user_id = ?", (org, user_id))
        return Membership.from_dict(doc) if doc else None

    def for_org(self, org: str) -> list[Membership]:
        docs = self.db.many("SELECT doc FROM memberships WHERE org = ? ORDER BY rowid", (org,))
        return [Membership.from_dict(d) for d in docs]

    def for_user(self, user_id: str) -> list[Membership]:
        docs = self.db.many("SELECT doc FROM memberships WHERE user_id = ? ORDER BY rowid", (user_id,))
        return [Membership.from_dict(d) for d in docs]

    @staticmethod
    def _require_admin_left(conn, org: str) -> None:
        left = conn.execute("SELECT COUNT(*) FROM memberships WHERE org = ? AND is_admin = 1",
                            (org,)).fetchone()[0]
        if left == 0:
            raise Conflict("The organization must keep at least one active admin")

    def save(self, membership: Membership) -> None:
        # Check inside the write transaction, so two concurrent demotions cannot both pass.
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO memberships (org, user_id, is_admin, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (org, user_id) DO UPDATE SET is_admin = excluded.is_admin, doc = excluded.doc",
                (membership.organization, membership.user_id, int(membership.is_admin), _doc(membership)))
            self._require_admin_left(conn, membership.organization)

    def delete(self, org: str, user_id: str) -> bool:
        with self.db.transaction() as conn:
            cur = conn.execute("DELETE FROM memberships WHERE org = ? AND user_id = ?", (org, user_id))
            if cur.rowcount == 0:
                return False
            self._require_admin_left(conn, org)
            return True


class SqliteImages:
    def __init__(self, db: Database):
        self.db = db

    def get(self, org: str, hash: str) -> SourceImage | None:
        doc = self.db.one("SELECT doc FROM images WHERE org = ? AND hash = ?", (org, hash))
        return SourceImage.from_dict(doc) if doc else None

    def by_prefix(self, org: str, prefix: str, limit: int = 2) -> list[SourceImage]:
        # Hashes are hex, so a range scan on the primary key finds the prefix without LIKE.
        docs = self.db.many(
            "SELECT doc FROM images WHERE org = ? AND hash >= ? AND hash < ? ORDER BY hash LIMIT ?",
            (org, prefix, prefix + "g", limit))
        return [SourceImage.from_dict(d) for d in docs]

    def by_binary_hash(self, org: str, binary_hash: str) -> list[SourceImage]:
        docs = self.db.many("SELECT doc FROM images WHERE org = ? AND binary_hash = ? ORDER BY seq",
                            (org, binary_hash))
        return [SourceImage.from_dict(d) for d in docs]

    def list(self, org: str, limit: int, offset: int, deleted: bool = False) -> tuple[list[SourceImage], int]:
        total = self.db.conn().execute(
            "SELECT COUNT(*) FROM images WHERE org = ? AND deleted = ?", (org, int(deleted))).fetchone()[0]
        docs = self.db.many(
            "SELECT doc FROM images WHERE org = ? AND deleted = ? ORDER BY created DESC, seq DESC "
            "LIMIT ? OFFSET ?", (org, int(deleted), limit, offset))
        return [SourceImage.from_dict(d) for d in docs], total

    def create(self, image: SourceImage) -> bool:
        with self.db.transaction() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM images").fetchone()[0]
            cur = conn.execute(
                "INSERT OR IGNORE INTO images (org, hash, binary_hash, created, seq, deleted, doc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (image.organization, image.hash, image.binary_hash, image.created, seq,
                 int(image.deleted), _doc(image)))
            if cur.rowcount == 0:
                return False
            self._index(conn, image.organization, set(), search_keys.entries(image))
            return True

    def save(self, image: SourceImage) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT doc FROM images WHERE org = ? AND hash = ?",
                               (image.organization, image.hash)).fetchone()
            if row is None:
                return
            old = search_keys.entries(SourceImage.from_dict(json.loads(row[0])))
            conn.execute("UPDATE images SET deleted = ?, doc = ? WHERE org = ? AND hash = ?",
                         (int(image.deleted), _doc(image), image.organization, image.hash))
            self._index(conn, image.organization, old, search_keys.entries(image))

    def purge(self, org: str, hash: str) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT doc FROM images WHERE org = ? AND hash = ?", (org, hash)).fetchone()
            if row is None:
                return
            self._index(conn, org, search_keys.entries(SourceImage.from_dict(json.loads(row[0]))), set())
            conn.execute("DELETE FROM images WHERE org = ? AND hash = ?", (org, hash))

    @staticmethod
    def _index(conn, org: str, old: set, new: set) -> None:
        """Keep the search entries in step with the record, in the same transaction."""
        conn.executemany("DELETE FROM imagefields WHERE org = ? AND field = ? AND skey = ?",
                         [(org, f, k) for f, k in old - new])
        conn.executemany("INSERT OR IGNORE INTO imagefields (org, field, skey) VALUES (?, ?, ?)",
                         [(org, f, k) for f, k in new - old])

    def find(self, org: str, field: str, low: str, high: str, limit: int) -> list[str]:
        rows = self.db.conn().execute(
            "SELECT skey FROM imagefields WHERE org = ? AND field = ? AND skey >= ? AND skey < ? "
            "ORDER BY skey LIMIT ?", (org, field, low, high, limit)).fetchall()
        return [r[0].rsplit(search_keys.SEP, 1)[1] for r in rows]


class SqliteStacks:
    def __init__(self, db: Database):
        self.db = db

    def get(self, org: str, name: str) -> Stack | None:
        doc = self.db.one("SELECT doc FROM stacks WHERE org = ? AND name = ?", (org, name))
        return Stack.from_dict(doc) if doc else None

    def list(self, org: str, limit: int, offset: int) -> list[Stack]:
        docs = self.db.many("SELECT doc FROM stacks WHERE org = ? ORDER BY name LIMIT ? OFFSET ?",
                            (org, limit, offset))
        return [Stack.from_dict(d) for d in docs]

    def create(self, stack: Stack) -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO stacks (org, name, doc) VALUES (?, ?, ?)",
                             (stack.organization, stack.name, _doc(stack)))
        except sqlite3.IntegrityError:
            raise Conflict(f"Stack {stack.name} already exists") from None

    def save(self, stack: Stack) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO stacks (org, name, doc) VALUES (?, ?, ?)",
                         (stack.organization, stack.name, _doc(stack)))

    def delete(self, org: str, name: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM stacks WHERE org = ? AND name = ?", (org, name)).rowcount > 0


class SqliteRenderIndex:
    def __init__(self, db: Database):
        self.db = db

    def add(self, org: str, key: str, stack: str, image_hash: str, alias: str | None = None) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO render_index (org, key, stack, image, alias) VALUES (?, ?, ?, ?, ?)",
                         (org, key, stack, image_hash, alias))

    def _keys(self, sql: str, args: tuple) -> list[str]:
        return [r[0] for r in self.db.conn().execute(sql, args).fetchall()]

    def keys_for_stack(self, org: str, stack: str) -> list[str]:
        return self._keys("SELECT key FROM render_index WHERE org = ? AND stack = ?", (org, stack))

    def keys_for_image(self, org: str, image_hash: str) -> list[str]:
        return self._keys("SELECT key FROM render_index WHERE org = ? AND image = ?", (org, image_hash))

    def keys_for_alias(self, org: str, alias: str) -> list[str]:
        return self._keys("SELECT key FROM render_index WHERE org = ? AND alias = ?", (org, alias))

    def remove(self, org: str, keys: list[str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM render_index WHERE org = ? AND key = ?", [(org, k) for k in keys])


class SqliteAliases:
    def __init__(self, db: Database):
        self.db = db

    def get(self, org: str, name: str) -> Alias | None:
        doc = self.db.one("SELECT doc FROM aliases WHERE org = ? AND name = ?", (org, name))
        return Alias.from_dict(doc) if doc else None

    def create(self, alias: Alias) -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO aliases (org, name, doc) VALUES (?, ?, ?)",
                             (alias.organization, alias.alias, _doc(alias)))
        except sqlite3.IntegrityError:
            raise Conflict(f"Alias {alias.alias} already exists") from None

    def save(self, alias: Alias) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO aliases (org, name, doc) VALUES (?, ?, ?)",
                         (alias.organization, alias.alias, _doc(alias)))

    def delete(self, org: str, name: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM aliases WHERE org = ? AND name = ?", (org, name)).rowcount > 0


class SqliteCounters:
    def __init__(self, db: Database):
        self.db = db

    def add(self, org: str, name: str, period: str, delta: int) -> int:
        with self.db.transaction() as conn:
            return conn.execute(
                "INSERT INTO counters (org, name, period, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (org, name, period) DO UPDATE SET value = value + excluded.value RETURNING value",
                (org, name, period, delta)).fetchone()[0]

    def values(self, org: str, name: str, start: str, end: str) -> dict[str, int]:
        rows = self.db.conn().execute(
            "SELECT period, value FROM counters WHERE org = ? AND name = ? AND period BETWEEN ? AND ?",
            (org, name, start, end)).fetchall()
        return dict(rows)
