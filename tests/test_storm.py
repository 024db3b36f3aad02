"""The mention-storm rule, expected surges (the calendar and `silences add --expected`), and one author's
repeats counting once: replays through the daemon's own engine."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from monitor.commands import main
from monitor.config import Brand, Config, SentimentConfig
from monitor.engine.replay import run_backtest
from monitor.errors import InvalidFiles
from monitor.mention import Mention
from monitor.rules import Rule, load_rules
from monitor.rules.calendar import Calendar, Expected, load_calendar

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
CRISIS = START + timedelta(days=4, hours=12)  # Friday noon
# VADER's labels: the questions below read as neutral to it, which is the case the storm rule is for (the
# learned scorer takes most "is it down?" questions for complaints, and negative-spike then hears them).
CONFIG = Config(path=ROOT / "config.toml", database=Path(":memory:"), rules_dir=ROOT / "rules",
                brands=(Brand("acme", "Acme Cloud", ('"acme cloud"',)),), sources=MappingProxyType({}),
                sentiment=SentimentConfig(scorer="vader"))  # fmt: skip
USUAL = [
    "Has anyone moved a Postgres cluster to Acme Cloud? Curious how the migration went.",
    "Acme Cloud pricing page updated, the storage tier looks different now.",
    "Acme Cloud support answered in ten minutes and fixed my DNS issue. Impressed.",
    "Acme Cloud billing is confusing, I was charged for a volume I deleted.",
    "Is there a Terraform provider for Acme Cloud that people actually use?",
]
QUESTIONS = [  # neutral: people asking before anyone complains
    "Is Acme Cloud having issues right now? Our deploy just hung.",
    "Anyone else seeing Acme Cloud requests hang this morning?",
    "Quick check: is the Acme Cloud console loading for anyone else?",
]
COMPLAINTS = [
    "Acme Cloud is down for us, every request returns 502. Terrible timing.",
    "Acme Cloud outage again. Customers are angry and we can't even log in to the console.",
    "Acme Cloud down down down. Lost orders all morning, very frustrating.",
]
LAUNCH = ["Acme Cloud just launched managed queues, this looks excellent!", "The new Acme Cloud queues are great."]


def stream(*bursts: tuple[list[str], datetime, timedelta, float], author: str = "") -> Iterator[tuple[Mention, str]]:
    """Four days and a half of ordinary talk (about eight posts an hour, busier by day), with bursts of
    (texts, start, length, posts an hour) on top; each post by its own author unless one is given."""
    rng = random.Random(5)
    n = 0

    def one(texts: list[str], at: datetime, who: str = "") -> tuple[Mention, str]:
        nonlocal n
        n += 1
        return Mention("reddit", f"p{n}", f"{rng.choice(texts)} ({n})", at, author=who or f"user{n}"), "acme"

    items = []
    t = START
    while t < CRISIS + timedelta(hours=3):
        rate = 4 + 6 * math.exp(-(((t.hour - 14) / 4) ** 2))
        items += [one(USUAL, t + timedelta(seconds=rng.uniform(0, 3600))) for _ in range(round(rate))]
        t += timedelta(hours=1)
    for texts, begin, length, per_hour in bursts:
        count = round(per_hour * length.total_seconds() / 3600)
        items += [one(texts, begin + length * (i + rng.random()) / count, author) for i in range(count)]
    return iter(sorted(items, key=lambda item: item[0].created_at))


def rules(*names: str, calendar: Calendar | None = None) -> list[Rule]:
    loaded = [r for r in load_rules(ROOT / "rules", ["acme"], ["reddit"]) if r.name in names]
    return [replace(r, calendar=calendar) if calendar is not None else r for r in loaded]


def openings(events: Iterator[dict[str, Any]]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for event in events:
        if event["event"] == "opened":
            found.setdefault(event["rule"], datetime.fromisoformat(event["at"]))
    return found


def test_the_storm_is_heard_before_the_complaints() -> None:
    # "Is it down?" from 12:00, forty an hour; the complaints start half an hour later.
    crisis = stream((QUESTIONS, CRISIS, timedelta(hours=2), 40.0),
                    (COMPLAINTS, CRISIS + timedelta(minutes=30), timedelta(hours=2), 30.0))  # fmt: skip
    opened = openings(run_backtest(CONFIG, rules("negative-spike", "mention-storm"), crisis))
    storm = opened["mention-storm"]
    assert CRISIS < storm < CRISIS + timedelta(minutes=20), storm
    negative = opened.get("negative-spike")
    assert negative is None or negative - storm >= timedelta(minutes=10), (storm, negative)


def test_an_announced_launch_is_no_storm_and_an_unannounced_one_is() -> None:
    def launch() -> Iterator[tuple[Mention, str]]:
        return stream((LAUNCH, CRISIS, timedelta(hours=3), 50.0))

    # Announced for exactly the three hours it runs: the hour after, the storm's window still holds it.
    announced = Calendar((Expected("acme", CRISIS.timestamp(), CRISIS.timestamp() + 3 * 3600, "queues"),))
    quiet = openings(run_backtest(CONFIG, rules("negative-spike", "mention-storm", calendar=announced), launch()))
    assert quiet == {}  # a positive surge is not a negative spike, and this one was expected
    loud = openings(run_backtest(CONFIG, rules("negative-spike", "mention-storm"), launch()))
    assert set(loud) == {"mention-storm"} and CRISIS < loud["mention-storm"] < CRISIS + timedelta(minutes=30)


def test_an_expected_surge_does_not_quiet_a_negative_spike() -> None:
    announced = Calendar((Expected("*", CRISIS.timestamp() - 600, CRISIS.timestamp() + 4 * 3600, "launch"),))
    gone_wrong = stream((LAUNCH, CRISIS, timedelta(hours=3), 50.0),
                        (COMPLAINTS, CRISIS + timedelta(minutes=30), timedelta(hours=1), 40.0))  # fmt: skip
    opened = openings(run_backtest(CONFIG, rules("negative-spike", "mention-storm", calendar=announced), gone_wrong))
    assert set(opened) == {"negative-spike"}


def test_one_author_repeating_a_complaint_is_one_voice() -> None:
    repeats = stream((COMPLAINTS[:1], CRISIS, timedelta(minutes=30), 40.0), author="angry_dev")
    assert openings(run_backtest(CONFIG, rules("negative-spike"), repeats)) == {}
    many = stream((COMPLAINTS[:1], CRISIS, timedelta(minutes=30), 40.0))
    assert set(openings(run_backtest(CONFIG, rules("negative-spike"), many))) == {"negative-spike"}


def test_the_calendar_file_names_each_problem(tmp_path: Path) -> None:
    (tmp_path / "expected.toml").write_text(
        '[[expected]]\nbrand = "globex"\nfrom = 2026-11-20T09:00:00+01:00\nfor = "6h"\n'
        '[[expected]]\nbrand = "acme"\nfrom = 2026-11-20T09:00:00\nfor = "6h"\n'
        '[[expected]]\nbrand = "acme"\nfrom = 2026-11-20T09:00:00Z\nuntil = 2026-11-20T08:00:00Z\n'
        '[[expected]]\nbrand = "acme"\nfrom = "2026-11-20T09:00:00+01:00"\n'
    )
    with pytest.raises(InvalidFiles) as info:
        load_calendar(tmp_path, ["acme"])
    found = [str(p) for p in info.value.problems]
    path = tmp_path / "expected.toml"
    assert f"{path}:2: expected[0].brand: unknown brand 'globex' (known: acme)" in found
    assert f"{path}:7: expected[1].from: expected a date and time with its UTC offset" in found[1]
    assert f"{path}:12: expected[2].until: must be after from" in found
    assert f"{path}:13: expected[3].until: give either until (a date and time) or for" in found[3]


def test_silences_add_expected_writes_the_calendar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "storm.toml").write_text((ROOT / "rules" / "mention-storm.toml").read_text())
    config = tmp_path / "config.toml"
    config.write_text(f'[monitor]\ndatabase = "{tmp_path / "m.db"}"\nrules = "{folder}"\ntimezone = "Europe/Berlin"\n'
                      '[[brands]]\nid = "acme"\nname = "Acme Cloud"\nqueries = ["acme"]\n')  # fmt: skip
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    args = ["silences", "add", "--config", str(config), "--expected", "--brand", "acme", "--for", "6h"]
    assert main([*args, "--from", "2026-11-20T10:00", "--comment", "Queues launch"], clock=lambda: now) == 0
    assert "expected surge added to" in capsys.readouterr().out
    (entry,) = load_calendar(folder, ["acme"]).entries
    # A plain time is the configured zone's: 10:00 in Berlin is 09:00 UTC.
    assert entry == Expected("acme", datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp(),
                             datetime(2026, 11, 20, 15, tzinfo=UTC).timestamp(), "Queues launch")  # fmt: skip
    assert main(["check", "--config", str(config)]) == 0
    assert main(["silences", "--config", str(config)], clock=lambda: now) == 0
    assert "acme: Fri 20 Nov 10:00 to Fri 20 Nov 16:00 Queues launch" in capsys.readouterr().out
    assert main([*args[:-2], "--for", "soon"], clock=lambda: now) == 2
    assert main([*args[:5], "--expected", "--brand", "globex", "--for", "6h"], clock=lambda: now) == 2
    assert "unknown brand 'globex'" in capsys.readouterr().err
    assert len(load_calendar(folder, ["acme"]).entries) == 1
