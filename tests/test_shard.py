"""Scale-out: brands split across instances by a stable hash (stable, complete, disjoint), each with its
own database, and one status merged over the shards' databases."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pytest

from monitor.config import Brand, Config
from monitor.mention import Mention, ScoredMention
from monitor.service.shard import Shard, for_shard, merged_status, parse_shard, read_status, shard_of
from monitor.store import IncidentRow, Store

ROOT = Path(__file__).resolve().parent.parent
BRANDS = [f"brand-{i}" for i in range(300)] + ["acme", "globex", "initech", "umbrella", "Ünïcode"]


def config(tmp_path: Path, ids: list[str]) -> Config:
    return Config(
        path=tmp_path / "config.toml", database=tmp_path / "monitor.db", rules_dir=ROOT / "rules",
        brands=tuple(Brand(i, i, (i,)) for i in ids), sources=MappingProxyType({}),
    )  # fmt: skip


def test_the_split_is_pinned_and_the_same_in_every_process() -> None:
    # Pinned values: a change here moves every user's brands to other shards.
    assert [shard_of(b, 4) for b in ("acme", "globex", "initech", "umbrella")] == [1, 4, 4, 1]
    code = "from monitor.service.shard import shard_of; print([shard_of(b, 7) for b in ('acme', 'globex', 'Ünïcode')])"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert outputs == {f"{[shard_of(b, 7) for b in ('acme', 'globex', 'Ünïcode')]}\n"}


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_every_brand_falls_to_exactly_one_shard(tmp_path: Path, count: int) -> None:
    whole = config(tmp_path, BRANDS)
    parts = [for_shard(whole, Shard(i, count)) for i in range(1, count + 1)]
    seen = [b.id for part in parts for b in part.brands]
    assert sorted(seen) == sorted(BRANDS)  # complete and disjoint: each brand once
    assert len({part.database for part in parts}) == count  # each instance its own database
    assert all(part.database.parent == whole.database.parent for part in parts)
    # Roughly even: no shard gets less than half its share of 305 brands.
    assert min(len(part.brands) for part in parts) > len(BRANDS) / count / 2


def test_adding_a_brand_moves_no_other() -> None:
    before = {b: shard_of(b, 3) for b in BRANDS}
    assert {b: shard_of(b, 3) for b in [*BRANDS, "newcomer"] if b != "newcomer"} == before


def test_shard_arguments_are_checked(tmp_path: Path) -> None:
    assert parse_shard("2/3") == Shard(2, 3)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)
    with pytest.raises(ValueError, match="no brand"):
        for_shard(config(tmp_path, ["acme"]), Shard(1 if shard_of("acme", 2) == 2 else 2, 2))


def test_run_refuses_a_bad_shard_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "monitor", "run", "--config", "config.toml", "--shard", "3/2"],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["monitor: --shard: i must be between 1 and n, got '3/2'"]


def _shard_db(path: Path, brand: str, mentions: int, incident: bool) -> None:
    store = Store.open(path)
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    store.add_mentions(
        [ScoredMention(Mention("reddit", f"{brand}{i}", f"{brand} is fine", at), brand, 0.0, "neutral")
         for i in range(mentions)], fetched_at=at.timestamp(),
    )  # fmt: skip
    if incident:
        row = IncidentRow(f"negative-spike:{brand}:1", "negative-spike", brand, "open", at.timestamp(),
                          at.timestamp(), peak_count=12)  # fmt: skip
        store.save_incident(row)
        store.enqueue(row.id, {"event": "opened", "incident": row.id}, at.timestamp())
    store.close()


def test_status_merges_the_shards(tmp_path: Path) -> None:
    _shard_db(tmp_path / "a.db", "acme", 3, incident=True)
    _shard_db(tmp_path / "b.db", "globex", 4, incident=False)
    _shard_db(tmp_path / "c.db", "initech", 2, incident=True)
    text = merged_status([read_status(tmp_path / n) for n in ("a.db", "b.db", "c.db")],
                         now=datetime(2026, 11, 2, 10, tzinfo=UTC).timestamp())  # fmt: skip
    lines = text.splitlines()
    assert lines[0] == "shards: 3, brands with mentions: 3, mentions: 9"
    assert lines[1] == "open incidents: 2"
    assert {line.split()[0] for line in lines[2:4]} == {"negative-spike:acme:1", "negative-spike:initech:1"}
    assert lines[4] == "outbox: 2 alert(s) waiting, oldest 3600 s ago"
    assert lines[5] == "dead letters: 0"
    assert lines[6].endswith("a.db: 1 brand(s), 3 mention(s), 1 open, 1 waiting, 0 dead")


def test_status_merge_names_a_brand_found_in_two_shards(tmp_path: Path) -> None:
    _shard_db(tmp_path / "a.db", "acme", 1, incident=False)
    _shard_db(tmp_path / "b.db", "acme", 1, incident=False)
    text = merged_status([read_status(tmp_path / "a.db"), read_status(tmp_path / "b.db")],
                         now=datetime(2026, 11, 2, 10, tzinfo=UTC).timestamp())  # fmt: skip
    assert "! brand acme has mentions in" in text


def test_status_merge_from_the_command_line(tmp_path: Path) -> None:
    _shard_db(tmp_path / "a.db", "acme", 2, incident=True)
    _shard_db(tmp_path / "b.db", "globex", 1, incident=False)
    command = [sys.executable, "-m", "monitor", "status", "--merge", str(tmp_path / "a.db"), str(tmp_path / "b.db")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["shards: 2, brands with mentions: 2, mentions: 3", "open incidents: 1"]
    missing = subprocess.run([*command[:5], str(tmp_path / "nope.db")], capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"monitor: {tmp_path / 'nope.db'}: no such database"


def test_every_operator_command_works_on_a_sharded_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.commands import main
    from monitor.engine.core import Engine
    from monitor.loading import load_all
    from monitor.sentiment import Scorer
    from tests.helpers.clock import Clock

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "spike.toml").write_text((ROOT / "rules" / "negative-spike.toml").read_text())
    path = tmp_path / "config.toml"
    path.write_text('[monitor]\ndatabase = "monitor.db"\nrules = "rules"\n[health]\nlisten = "127.0.0.1:1"\n' + "".join(
        f'[[brands]]\nid = "{b}"\nname = "{b}"\nqueries = ["{b}"]\n' for b in ("acme", "globex", "initech", "umbrella")
    ))  # fmt: skip
    full, rules = load_all(str(path))
    mine, other = shard_of("acme", 2), 3 - shard_of("acme", 2)
    for index in (1, 2):
        Store.open(for_shard(full, Shard(index, 2)).database).close()  # as the two shards' daemons left them
    clock = Clock(datetime(2026, 11, 2, 10, tzinfo=UTC).timestamp())

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--config", str(path)], clock=clock)
        out = capsys.readouterr()
        return code, out.out, out.err

    # Without --shard: refused in one line, and no monitor.db that no shard reads is made.
    sharded = (
        "monitor: monitor.db does not exist but shard databases do (monitor.shard-1-of-2.db, monitor.shard-2-of-2.db):"
        " this install is sharded, give --shard I/N for the shard to act on"
    )
    for command in (("silences", "add", "--brand", "acme", "--for", "4h"), ("silences",), ("db", "stats"),
                    ("status",), ("rules", "stats")):  # fmt: skip
        code, _, err = run(*command)
        assert code == 2 and err.strip().splitlines() == [sharded], (command, err)
    assert not (tmp_path / "monitor.db").exists()
    # The brand's own shard takes the silence; the other one says where the brand runs.
    code, _, err = run("silences", "add", "--brand", "acme", "--for", "4h", "--shard", f"{other}/2")
    assert code == 2 and f"brand 'acme' runs in shard {mine}/2, not {other}/2" in err
    code, out, _ = run("silences", "add", "--brand", "acme", "--for", "4h", "--shard", f"{mine}/2")
    assert code == 0 and out.strip() == "silence #1 added"
    shard_config = for_shard(full, Shard(mine, 2))
    store = Store.open(shard_config.database)
    engine = Engine(shard_config, rules, store, Scorer.of(shard_config))
    engine.load_history(clock())
    assert engine.muting.silenced("negative-spike", "acme") is not None  # the shard's daemon reads it
    store.close()
    code, out, _ = run("silences", "--shard", f"{mine}/2")
    assert code == 0 and "1 silence(s) in force" in out
    code, out, _ = run("db", "stats", "--shard", f"{mine}/2")
    assert code == 0 and f"monitor.shard-{mine}-of-2.db" in out
    code, out, _ = run("db", "backup", str(tmp_path / "copy.db"), "--shard", f"{mine}/2")
    assert code == 0 and (tmp_path / "copy.db").exists()
    code, out, _ = run("rules", "stats", "--shard", f"{mine}/2")
    assert code == 0 and "negative-spike" in out
    code, out, _ = run("status", "--shard", f"{mine}/2")
    assert code == 1 and "daemon: not answering" in out and "outbox: 0 alert(s) waiting" in out
