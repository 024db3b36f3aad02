"""The database file at start and under the ingest path: another name for a running daemon's file (a
symlink, a hard link), a damaged page, an empty file, a read-only folder, the disk full while /ingest
writes, alerts waiting for a Slack token that is not there, and what an acknowledged ingest survives."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from monitor.store import Store
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.slack import TOKEN, FakeSlack
from tests.faults.conftest import daemon_config, read_db
from tests.helpers.events import event
from tests.helpers.process import drop_root_overrides, environment, monitor, running

INGEST_TOKEN = "ingest-token-0123456789abcdef"
INGEST = f'\n[ingest]\nlisten = "127.0.0.1:0"\ntoken_env = "FAULTS_INGEST"\nmax_body = {8 * 1024 * 1024}\n'


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


def _items(start: int, n: int, now: float) -> bytes:
    return "".join(
        json.dumps({"platform": "tiktok", "id": f"v{i}", "brand": "python", "created_at": now - 60,
                    "text": f"python clip {i}: " + "a long caption " * 30}) + "\n"
        for i in range(start, start + n)
    ).encode()  # fmt: skip


def _limit_file_size(limit: int) -> None:
    """In the child: files may not grow past limit bytes (EFBIG, as a full disk gives ENOSPC)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


@pytest.mark.wall_clock
async def test_the_disk_full_on_the_ingest_path_is_a_503_one_line_and_degraded_health_then_recovery(
    tmp_path: Path, fake_hn: FakeHackerNews
) -> None:
    # A full disk without root: RLIMIT_FSIZE on the daemon's process makes the kernel refuse to grow its
    # files past a size (the -wal file, here), which SQLite meets as it meets a full disk. Polls every
    # hour: only /ingest writes while the disk is full (a poll's small write may still fit, and says so).
    config = daemon_config(tmp_path, fake_hn.url, **{'interval = "1s"': 'interval = "1h"'})
    config.write_text(config.read_text() + INGEST)
    db = tmp_path / "monitor.db"
    Store.open(db).close()
    limit = db.stat().st_size + 400_000
    env = environment(FAULTS_INGEST=INGEST_TOKEN)
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/x-ndjson"}
    answers: list[int] = []
    async with running(config, env, preexec=lambda: _limit_file_size(limit)) as daemon, aiohttp.ClientSession() as http:
        ingest, health = await daemon.port("ingest endpoint"), await daemon.port("health and metrics")
        await daemon.said("running: ")
        for batch in range(12):
            async with http.post(f"http://127.0.0.1:{ingest}/ingest", data=_items(batch * 100, 100, time.time()),
                                 headers=headers) as response:  # fmt: skip
                answers.append(response.status)
                body = await response.json()
        assert answers[0] == 200 and answers[-1] == 503, answers
        assert body == {"error": "the mentions could not be stored: send the batch again"}
        async with http.get(f"http://127.0.0.1:{health}/healthz") as response:
            report = await response.json()
            assert response.status == 503 and report["status"] == "degraded" and report["storage"] == "failing"
            assert report["reasons"][0].startswith("storage: the database cannot be written")
        # Room again (the limit lifted from outside): the same batch is stored, and health recovers.
        resource.prlimit(daemon.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        async with http.post(f"http://127.0.0.1:{ingest}/ingest", data=_items(1100, 100, time.time()),
                             headers=headers) as response:  # fmt: skip
            assert response.status == 200
        await daemon.said("can be written again")
        async with http.get(f"http://127.0.0.1:{health}/healthz") as response:
            assert (await response.json())["storage"] == "ok"
    errors = [line for line in daemon.lines if "ERROR" in line]
    assert len(errors) == 1 and "cannot write to the database" in errors[0], daemon.text
    assert "Traceback" not in daemon.text
    accepted = 100 * (answers.count(200) + 1)
    assert read_db(db, "SELECT COUNT(*) FROM mentions") == [(accepted,)]  # nothing half-written
    assert read_db(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.wall_clock
async def test_without_its_token_the_daemon_refuses_to_start_while_alerts_wait_for_slack(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_slack: FakeSlack
) -> None:
    config = daemon_config(tmp_path, fake_hn.url, fake_slack.url)
    db = tmp_path / "monitor.db"
    store = Store.open(db)
    with store.transaction():
        for n in range(3):
            store.enqueue(f"outage-burst/python/{n}", event(incident=f"outage-burst/python/{n}", brand="python"),
                          time.time())  # fmt: skip
    store.close()
    line = one_line(monitor("run", "--config", str(config), cwd=tmp_path))
    assert line == (
        f"SLACK_BOT_TOKEN is not set (nor SLACK_WEBHOOK_URL), and 3 alert(s) wait in the outbox of {db} for Slack:"
        " set SLACK_BOT_TOKEN in the daemon's environment (under systemd, its EnvironmentFile) and start again;"
        " waiting alerts are never printed to the console instead"
    )
    assert read_db(db, "SELECT COUNT(*) FROM outbox") == [(3,)]  # untouched
    async with running(config, environment(SLACK_BOT_TOKEN=TOKEN)):
        await fake_slack.wait_for_messages(3, within=30)  # with the token, they go where they were meant to
    assert read_db(db, "SELECT COUNT(*) FROM outbox") == [(0,)]


async def test_an_acknowledged_ingest_is_committed_with_synchronous_full(tmp_path: Path) -> None:
    # Power loss cannot be staged in a test; what decides it can: each commit of an ingest is made while
    # PRAGMA synchronous is FULL (the -wal file synced before the commit returns), polls' under NORMAL.
    from monitor.loading import load_all
    from monitor.service.daemon import Daemon
    from tests.helpers.clock import Clock
    from tests.helpers.daemon import Quiet

    config_path = daemon_config(tmp_path, "http://127.0.0.1:9/api/v1/")
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=Clock(time.time()), delivery=Quiet())  # type: ignore[arg-type]
    modes: list[str] = []  # the synchronous mode each commit was made under
    mode = ["NORMAL"]
    conn: sqlite3.Connection = daemon.store.db.conn

    def on_statement(sql: str) -> None:
        words = sql.upper().replace("=", " ").split()
        if words[:2] == ["PRAGMA", "SYNCHRONOUS"] and len(words) == 3:
            mode[0] = words[2]
        elif words[:1] in (["COMMIT"], ["RELEASE"], ["END"]):
            modes.append(mode[0])

    from monitor.mention import from_replay

    try:
        items = [from_replay(json.loads(line)) for line in _items(0, 1200, time.time()).splitlines()]
        conn.set_trace_callback(on_statement)
        assert await daemon.accept(items) == 1200
        conn.set_trace_callback(None)
        assert len(modes) >= 3 and set(modes) == {"FULL"}  # every slice of the batch
        assert daemon.store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
    finally:
        await daemon.close()
