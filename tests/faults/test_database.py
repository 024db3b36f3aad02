"""The database file at start and under the ingest path: another name for a running daemon's file (a
symlink, a hard link), a damaged page, an empty file, a read-only folder, the disk full while /ingest
writes, alerts waiting for a Slack token that is not there, and what an acknowledged ingest survives."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from monitor.store import Store
from tests.fakes.hackernews import FakeHackerNews
from tests.faults.conftest import daemon_config, read_db
from tests.helpers.process import drop_root_overrides, monitor, running


def with_database(config: Path, database: Path) -> Path:
    """config, its database moved to another path."""
    text = config.read_text()
    old = f'database = "{config.parent / "monitor.db"}"'
    assert old in text
    config.write_text(text.replace(old, f'database = "{database}"'))
    return config


def one_line(result: object) -> str:
    stderr = getattr(result, "stderr", "")
    assert getattr(result, "returncode", None) == 2, stderr
    assert "Traceback" not in stderr, stderr
    (line,) = stderr.strip().splitlines()
    return str(line)


@pytest.mark.wall_clock
@pytest.mark.parametrize("kind", ["symlink", "hard link"])
async def test_a_second_daemon_through_another_name_for_the_file_is_refused(
    tmp_path: Path, fake_hn: FakeHackerNews, kind: str
) -> None:
    config = daemon_config(tmp_path, fake_hn.url)
    db = tmp_path / "monitor.db"
    other = tmp_path / "other"
    other.mkdir()
    alias = other / "alias.db"
    async with running(config) as first:
        await first.said("running: ")
        (os.symlink if kind == "symlink" else os.link)(db, alias)
        second = with_database(daemon_config(other, fake_hn.url), alias)
        result = await asyncio.to_thread(monitor, "run", "--config", str(second), cwd=other)
        assert one_line(result) == (
            f"{alias}: another monitor daemon (pid {first.process.pid}) is using this database (under another"
            " name: a symlink or a hard link to the same file): stop it first, or give this one its own"
            " monitor.database"
        )
        assert first.process.returncode is None  # the first one runs on
        assert not await asyncio.to_thread(Path(f"{alias}-wal").exists)  # SQLite never opened it by that name
    assert read_db(db, "PRAGMA integrity_check") == [("ok",)]


def _damage(db: Path, page: int) -> None:
    """Overwrite one page of the database with garbage."""
    size = read_db(db, "PRAGMA page_size")[0][0]
    assert isinstance(size, int)
    with db.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xab" * size)


@pytest.mark.parametrize("page", ["pointer map", "b-tree"])
def test_a_damaged_page_stops_the_start_with_one_line(tmp_path: Path, page: str) -> None:
    config = daemon_config(tmp_path, "http://127.0.0.1:9/api/v1/")
    db = tmp_path / "monitor.db"
    store = Store.open(db)
    with store.transaction():
        for i in range(2000):
            store.db.execute("INSERT INTO mentions (brand, platform, id, text, created_at) VALUES ('python', 'hn', ?,"
                             " ?, ?)", [str(i), "words " * 40, 1_700_000_000 + i])  # fmt: skip
    store.checkpoint()
    pages = int(read_db(db, "PRAGMA page_count")[0][0])  # type: ignore[call-overload]
    store.close()
    # Page 2 is the first pointer-map page of an auto-vacuum database: damage there was not seen at all.
    _damage(db, 2 if page == "pointer map" else pages - 3)
    damaged = db.read_bytes()
    line = one_line(monitor("run", "--config", str(config), cwd=tmp_path))
    assert line.startswith(f"{db}: ") and "damaged" in line and "restore a backup" in line, line
    if page == "pointer map":
        assert "quick_check: Failed to read ptrmap key=" in line
    assert db.read_bytes() == damaged  # left as it was


@pytest.mark.wall_clock
async def test_an_empty_database_file_is_said_in_one_line_and_a_new_one_made(
    tmp_path: Path, fake_hn: FakeHackerNews
) -> None:
    config = daemon_config(tmp_path, fake_hn.url)
    db = tmp_path / "monitor.db"
    db.write_bytes(b"")
    async with running(config) as daemon:
        await daemon.said("running: ")
    warnings = [line for line in daemon.lines if "empty" in line]
    assert len(warnings) == 1 and f"{db}: the database file is empty (0 bytes): a new database is made" in warnings[0]
    assert "restore a backup" in warnings[0]
    assert read_db(db, "PRAGMA user_version")[0][0] == Store.open(":memory:").schema_version


@pytest.mark.parametrize("existing", [False, True], ids=["new database", "existing database"])
def test_a_read_only_folder_is_one_line(tmp_path: Path, existing: bool) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    db = folder / "monitor.db"
    config = with_database(daemon_config(tmp_path, "http://127.0.0.1:9/api/v1/"), db)
    if existing:
        Store.open(db).close()
    folder.chmod(0o555)
    try:
        # The tests run as root, which writes anywhere: the child gives that power up first.
        probe = monitor("version", cwd=tmp_path, preexec=drop_root_overrides)
        assert probe.returncode == 0, probe.stderr
        result = monitor("run", "--config", str(config), cwd=tmp_path, preexec=drop_root_overrides)
    finally:
        folder.chmod(0o755)
    assert one_line(result) == (
        f"{db}: cannot write in its folder {folder} (Permission denied): give the daemon's user write access to the"
        " folder (SQLite writes monitor.db-wal and monitor.db-shm beside the database)"
    )
    assert sorted(p.name for p in folder.iterdir()) == (["monitor.db"] if existing else [])
