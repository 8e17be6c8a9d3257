"""The embedded default's SQLite connections: one per thread, reused by the threads that follow
(the local server runs every HTTP connection on a new thread)."""
from __future__ import annotations

import threading

from chalicelib.storage import local_sqlite


def on_threads(db: local_sqlite.Database, count: int, together: bool) -> list:
    """The connection each of `count` threads got (kept: no id() is reused), the threads run one
    after another or all at once (each holds its connection until all have one)."""
    seen, barrier = [], threading.Barrier(count if together else 1)

    def work():
        conn = db.conn()
        conn.execute("SELECT count(*) FROM stacks").fetchone()
        seen.append(conn)
        barrier.wait()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
        if not together:
            t.join()
    for t in threads:
        t.join()
    return seen


def test_threads_one_after_another_reuse_one_connection(tmp_path):
    db = local_sqlite.Database(str(tmp_path / "meta.sqlite3"))
    seen = on_threads(db, 6, together=False)
    assert all(conn is seen[0] for conn in seen) and seen[0] is not db.conn()  # main keeps its own


def test_threads_at_once_have_a_connection_each_and_the_idle_list_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(local_sqlite, "MAX_IDLE_CONNECTIONS", 3)
    db = local_sqlite.Database(str(tmp_path / "meta.sqlite3"))
    assert len({id(conn) for conn in on_threads(db, 5, together=True)}) == 5
    assert len(db._idle) == 3  # the other two were closed


def test_a_connection_left_inside_a_transaction_is_not_reused(tmp_path):
    db = local_sqlite.Database(str(tmp_path / "meta.sqlite3"))
    def abandon():
        db.conn().execute("BEGIN IMMEDIATE")

    t = threading.Thread(target=abandon)
    t.start()
    t.join()
    assert db._idle == []
    with db.transaction() as conn:  # the write lock went with the closed connection
        conn.execute("DELETE FROM stacks")
