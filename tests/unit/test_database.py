"""store.database: file placement, durability pragmas, versioned migrations, transactions."""

from __future__ import annotations

import sqlite3

import pytest

from ocpp_bridge.store.database import (
    SchemaVersionError,
    apply_migrations,
    open_database,
    schema_version,
    transaction,
)

V1 = "CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT NOT NULL);"
V2 = "ALTER TABLE item ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;"
SEED = "INSERT INTO item (label) VALUES ('seed');"


def test_creates_missing_directory_and_named_file(tmp_path):
    folder = tmp_path / "a" / "b"
    conn = open_database(folder, "outbox", [V1])
    conn.close()
    assert (folder / "outbox.db").is_file()


def test_wal_full_sync_and_foreign_keys(tmp_path):
    conn = open_database(tmp_path, "x", [V1])
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_foreign_keys_are_enforced(tmp_path):
    conn = open_database(
        tmp_path, "fk",
        ["CREATE TABLE p (id INTEGER PRIMARY KEY);"
         "CREATE TABLE c (p_id INTEGER NOT NULL REFERENCES p (id));"],
    )
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO c (p_id) VALUES (42)")


def test_migrations_apply_in_order_and_only_once(tmp_path):
    conn = open_database(tmp_path, "m", [V1, SEED])
    assert schema_version(conn) == 2
    conn.close()
    conn = open_database(tmp_path, "m", [V1, SEED])  # a second run must not seed again
    assert conn.execute("SELECT COUNT(*) FROM item").fetchone()[0] == 1
    conn.close()
    conn = open_database(tmp_path, "m", [V1, SEED, V2])  # a new release adds one script
    assert schema_version(conn) == 3
    assert conn.execute("SELECT label, weight FROM item").fetchall() == [("seed", 0)]


def test_failed_migration_leaves_previous_version_intact(tmp_path):
    conn = open_database(tmp_path, "f", [V1])
    conn.close()
    broken = "CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);"
    with pytest.raises(sqlite3.OperationalError):
        open_database(tmp_path, "f", [V1, broken])
    conn = open_database(tmp_path, "f", [V1])
    assert schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half" not in tables


def test_newer_file_is_refused(tmp_path):
    open_database(tmp_path, "n", [V1, V2]).close()
    with pytest.raises(SchemaVersionError):
        open_database(tmp_path, "n", [V1])


def test_bad_names_are_refused(tmp_path):
    for name in ("../escape", "a/b", "", "x.db"):
        with pytest.raises(ValueError):
            open_database(tmp_path, name, [])


def test_apply_migrations_works_on_a_plain_connection():
    conn = sqlite3.connect(":memory:")
    assert apply_migrations(conn, [V1, SEED]) == 2
    assert apply_migrations(conn, [V1, SEED]) == 2
    assert conn.execute("SELECT COUNT(*) FROM item").fetchone()[0] == 1


def test_transaction_commits_and_rolls_back(tmp_path):
    conn = open_database(tmp_path, "t", [V1])
    with transaction(conn):
        conn.execute("INSERT INTO item (label) VALUES ('kept')")
    with pytest.raises(RuntimeError):
        with transaction(conn):
            conn.execute("INSERT INTO item (label) VALUES ('dropped')")
            raise RuntimeError("boom")
    assert not conn.in_transaction
    conn.close()
    conn = open_database(tmp_path, "t", [V1])
    assert [r[0] for r in conn.execute("SELECT label FROM item")] == ["kept"]


def test_nested_transaction_joins_the_outer_one(tmp_path):
    conn = open_database(tmp_path, "nest", [V1])
    with pytest.raises(RuntimeError):
        with transaction(conn):
            with transaction(conn):
                conn.execute("INSERT INTO item (label) VALUES ('inner')")
            raise RuntimeError("outer fails")
    assert conn.execute("SELECT COUNT(*) FROM item").fetchone()[0] == 0


def test_files_are_the_owners_only_with_their_wal_and_shm(tmp_path):
    """They hold secrets (AuthorizationKey, tokens): mode 0600, whatever the umask, and a
    file an older version left readable is made private when opened."""
    import os
    import stat

    old_umask = os.umask(0o022)
    try:
        conn = open_database(tmp_path, "secret", ["CREATE TABLE t (x INTEGER)"])
        conn.execute("INSERT INTO t VALUES (1)")
        for suffix in ("", "-wal", "-shm"):
            mode = stat.S_IMODE(os.stat(tmp_path / f"secret.db{suffix}").st_mode)
            assert mode == 0o600, (suffix, oct(mode))
        conn.close()
        os.chmod(tmp_path / "secret.db", 0o644)
        open_database(tmp_path, "secret", ["CREATE TABLE t (x INTEGER)"]).close()
        assert stat.S_IMODE(os.stat(tmp_path / "secret.db").st_mode) == 0o600
    finally:
        os.umask(old_umask)
