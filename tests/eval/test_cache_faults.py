"""Issue 30, item 14: a response cache file that is garbage, truncated, a directory or a database of
another shape is one line naming the file with the way out (--no-cache, or move the file aside); a
corrupt row is a cache miss, recomputed and replaced; disk full while writing is one line."""

from __future__ import annotations

import sqlite3

import pytest

from helpers import assert_one_line_error, run_cli, write_scenario
from mgreason.backends.base import BackendResult
from mgreason.eval.cache import CacheError, ResponseCache, logprobs_scoring


def _fill(path):
    with ResponseCache(path) as c:
        mk = c.register_model({"id": "m"})
        sc = logprobs_scoring(["a", "b"])
        c.put_many(mk, [(f"k{i}", f"p{i}", sc, BackendResult(label_logprobs={"a": -1.0, "b": -2.0})) for i in range(50)])
    return mk


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(b"this is not a database" * 100),
        lambda p: p.write_bytes(b""),  # empty: SQLite makes a new database in it (fine)
        lambda p: (_fill(p), p.write_bytes(p.read_bytes()[:1500])),  # truncated
        lambda p: (_fill(p), p.write_bytes(p.read_bytes()[:100] + b"\0" * 4000 + p.read_bytes()[4100:])),  # torn header
        lambda p: p.mkdir(),
        lambda p: sqlite3.connect(str(p)).executescript("CREATE TABLE responses (key TEXT PRIMARY KEY, x INT);"),
    ],
    ids=["garbage", "empty", "truncated", "torn", "directory", "other-schema"],
)
def test_unusable_cache_files_are_one_line(tmp_path, make):
    p = tmp_path / "responses.sqlite"
    make(p)
    try:
        with ResponseCache(p) as c:
            mk = c.register_model({"id": "m"})
            c.get_many(mk, [f"k{i}" for i in range(50)])
            c.count()
    except CacheError as e:
        msg = str(e)
        assert msg.startswith(str(p)) and "--no-cache" in msg and "\n" not in msg, msg
    else:
        assert p.is_file() and p.stat().st_size == 0 or p.read_bytes()[:15] == b"SQLite format 3"


def test_corrupt_rows_are_misses_and_are_replaced(tmp_path):
    p = tmp_path / "c.sqlite"
    mk = _fill(p)
    db = sqlite3.connect(str(p))
    for i, bad in enumerate(['{"label_logprobs": ', "[]", '{"label_logprobs": {"a": "x"}}', '{"text": 3}', "[" * 5000 + "]" * 5000]):
        db.execute("UPDATE responses SET result = ? WHERE key = ?", (bad, f"k{i}"))
    db.commit()
    db.close()
    with ResponseCache(p) as c:
        got = c.get_many(mk, [f"k{i}" for i in range(50)])
        assert len(got) == 45 and c.corrupt_rows == 5
        sc = logprobs_scoring(["a", "b"])
        c.put_many(mk, [(f"k{i}", f"p{i}", sc, BackendResult(label_logprobs={"a": -1.0, "b": -2.0})) for i in range(5)])
        assert len(c.get_many(mk, [f"k{i}" for i in range(50)])) == 50


def test_disk_full_while_writing_is_one_line(tmp_path, monkeypatch):
    p = tmp_path / "c.sqlite"
    mk = _fill(p)
    c = ResponseCache(p)

    class FullDB:
        def __init__(self, db):
            self.db = db

        def execute(self, sql, *a):
            if sql.startswith("INSERT") or sql == "BEGIN IMMEDIATE":
                raise sqlite3.OperationalError("database or disk is full")
            return self.db.execute(sql, *a)

        def executemany(self, *a):
            raise sqlite3.OperationalError("database or disk is full")

    c._db = FullDB(c._db)
    with pytest.raises(CacheError, match="disk is full.*--no-cache"):
        c.put_many(mk, [("z", "pz", logprobs_scoring(["a", "b"]), BackendResult(label_logprobs={"a": -1.0, "b": -2.0}))])
    c._db = c._db.db
    c.close()


@pytest.mark.parametrize("command", ["run-scenario", "sweep"])
def test_cli_with_a_garbage_cache_is_one_line(tmp_path, monkeypatch, capsys, command):
    import yaml

    cache = tmp_path / "garbage.sqlite"
    cache.write_bytes(b"not a database" * 200)
    path = write_scenario(tmp_path / "sc", spec={"conditions": ["without_mg"]})
    if command == "run-scenario":
        monkeypatch.setenv("MGREASON_RESPONSE_CACHE", str(cache))
        args = ["run-scenario", path, "--backend", "mock", "--model", "mock-a", "--out", tmp_path / "run"]
    else:
        sw = tmp_path / "sweep.yaml"
        sw.write_text(yaml.safe_dump({
            "id": "s", "models": [{"name": "a", "backend": "mock", "model": "mock-a"}],
            "scenarios": [str(path)], "output_dir": str(tmp_path / "out"), "cache": str(cache), "n_boot": 100,
        }))
        args = ["sweep", sw, "--no-report"]
    res = run_cli(args, monkeypatch, capsys)
    assert_one_line_error(res, str(cache), "--no-cache")
