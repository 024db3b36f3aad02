"""The alert's buttons end to end: a click over a fake Socket Mode server, the ack, the database,
and what the fake Slack Web API then sees (chat.update, thread replies); through the daemon's engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import system
from monitor.commands import main
from monitor.loading import load_all
from monitor.service.daemon import Daemon
from monitor.store import Store
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import APP_TOKEN, TOKEN, FakeSlack
from tests.fakes.socketmode import FakeSocketMode, block_actions
from tests.helpers.clock import Clock
from tests.helpers.daemon import add_burst, seed_history
from tests.helpers.daemon import write_config as daemon_config

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_795_600_800.0  # 2026-11-25 (a Wednesday) 10:00 UTC
QUERY = '"acme cloud"'
MENTION = "<!subteam^S0PRTEAM>"


def write_config(tmp_path: Path, hn: str, reddit: str, slack: str) -> Path:
    return daemon_config(tmp_path, hn, reddit, slack, slack_extra=f'mention = "{MENTION}"')


@pytest.fixture
def setup(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode, monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    seed_history(fake_hn, fake_reddit, T0)
    return write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)


@contextlib.asynccontextmanager
async def running(setup: Path, clock: Clock, buttons: bool = True) -> AsyncIterator[Daemon]:
    """A daemon on setup's config at clock, with Socket Mode started unless buttons is False; closed after
    (its scheduler too, if a reload started it)."""
    config, rules = load_all(str(setup))
    daemon = Daemon(config, rules, setup, clock=clock)
    try:
        if buttons:
            await daemon.start_socket_mode()
        yield daemon
    finally:
        if daemon.scheduler.running:
            daemon.scheduler.shutdown(wait=False)
        await daemon.close()


async def poll_all(daemon: Daemon) -> None:
    for source in ("hackernews", "reddit"):
        await daemon.poll(source, "acme", QUERY)


async def opened_alert(daemon: Daemon, clock: Clock, hn: FakeHackerNews, reddit: FakeReddit) -> str:
    """Backfill, a burst of complaints, a tick, delivery: the incident id."""
    await poll_all(daemon)
    add_burst(hn, reddit, T0 + 60, 14, "a")
    clock.now = T0 + 600
    await poll_all(daemon)
    (opened,) = daemon.runtime.engine.tick(clock())
    assert await daemon.outbox.drain() == 1
    return str(opened["incident"])


async def click(fake: FakeSocketMode, daemon: Daemon, payload: dict[str, Any], envelope_id: str | None = None) -> str:
    """Send a click, wait for its ack, then for the daemon to finish carrying it out."""
    acked_before = sum(1 for a in fake.acks if a.get("envelope_id") == envelope_id)
    envelope = await fake.send(payload, envelope_id, retry=1 if envelope_id else 0)
    await fake.wait_ack(envelope, count=acked_before + 1)
    assert daemon.socket_mode is not None
    busy = {t for t in daemon.socket_mode.busy if not t.done()}
    if busy:
        await asyncio.wait(busy, timeout=10)
    return envelope


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_acknowledge_updates_the_alert_and_stops_mentions(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode,
) -> None:  # fmt: skip
    clock = Clock(T0)
    async with running(setup, clock) as daemon:
        assert daemon.socket_mode is not None
        incident = await opened_alert(daemon, clock, fake_hn, fake_reddit)
        (root,) = fake_slack.messages
        assert root["text"].startswith(MENTION) and root["blocks"][0]["text"]["text"] == MENTION
        assert action_ids(root) == ["ack", "snooze_1h", "snooze_4h", "snooze_24h", "noise"]
        assert {e["value"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]} == {incident}

        clock.now = T0 + 700
        envelope = await click(fake_socket_mode, daemon, block_actions("ack", incident, message_ts=root["ts"]))
        assert {"envelope_id": envelope} in fake_socket_mode.acks
        (update,) = fake_slack.updates
        assert update["ts"] == root["ts"] and update["channel"] == "C0123"
        redrawn = fake_slack.messages[0]
        assert "Acknowledged by <@U0PRLEAD> at Wed 25 Nov 10:11 UTC" in blocks_text(redrawn)
        assert action_ids(redrawn) == ["snooze_1h", "snooze_4h", "snooze_24h", "noise"]
        assert MENTION not in blocks_text(redrawn) and MENTION not in redrawn["text"]
        assert "14 negative posts" in blocks_text(redrawn)  # the alert itself is intact
        ack = daemon.store.actions_on(incident)["ack"]
        assert (ack.user, ack.at) == ("U0PRLEAD", T0 + 700)

        # A second click, and the same envelope delivered again: nothing happens twice.
        await click(fake_socket_mode, daemon, block_actions("ack", incident, user_id="U0OTHER"))
        await click(fake_socket_mode, daemon, block_actions("ack", incident), envelope_id=envelope)
        assert len(fake_slack.updates) == 1 and daemon.store.actions_on(incident)["ack"].user == "U0PRLEAD"

        # A follow-up in the thread no longer pings the team.
        add_burst(fake_hn, fake_reddit, T0 + 700, 12, "b")
        clock.now = T0 + 1200
        await poll_all(daemon)
        assert [e["event"] for e in daemon.runtime.engine.tick(clock())] == ["updated"]
        assert await daemon.outbox.drain() == 1
    follow_up = fake_slack.messages[-1]
    assert follow_up["thread_ts"] == root["ts"] and "Update:" in follow_up["text"]
    assert MENTION not in follow_up["text"] and MENTION not in blocks_text(follow_up)


async def test_follow_ups_mention_until_acknowledged(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack
) -> None:
    clock = Clock(T0)
    async with running(setup, clock, buttons=False) as daemon:
        await opened_alert(daemon, clock, fake_hn, fake_reddit)
        add_burst(fake_hn, fake_reddit, T0 + 700, 12, "b")
        clock.now = T0 + 1200
        await poll_all(daemon)
        daemon.runtime.engine.tick(clock())
        assert await daemon.outbox.drain() == 1
    root, follow_up = fake_slack.messages
    assert follow_up["thread_ts"] == root["ts"] and follow_up["text"].startswith(MENTION)


async def test_snooze_keeps_the_rule_quiet_for_that_brand(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    clock = Clock(T0)
    async with running(setup, clock) as daemon:
        incident = await opened_alert(daemon, clock, fake_hn, fake_reddit)
        await click(fake_socket_mode, daemon, block_actions("snooze_24h", incident))
        await click(fake_socket_mode, daemon, block_actions("snooze_24h", incident))  # a double click
        (silence,) = daemon.store.silences(active_at=clock())
        assert (silence.rule, silence.brand, silence.terms) == ("negative-spike", "acme", ())
        assert silence.author == "pr.lead (Slack U0PRLEAD)" and silence.expires_at == T0 + 600 + 86400
        assert incident in silence.comment
        reply = fake_slack.messages[-1]
        assert reply["thread_ts"] == fake_slack.messages[0]["ts"] and len(fake_slack.messages) == 2
        assert "Snoozed for 1d by <@U0PRLEAD>" in reply["text"] and "until Thu 26 Nov 10:10 UTC" in reply["text"]

        # The incident resolves and its cooldown passes; a new burst within the snooze opens nothing.
        while (row := daemon.store.incident(incident)) is not None and (
            row.status == "open" or (row.cooldown_until or 0) > clock.now
        ):
            clock.now += 300
            daemon.runtime.engine.tick(clock())
        await daemon.outbox.drain()  # the resolution still goes out
        sent = len(fake_slack.messages)
        later = clock.now + 60
        add_burst(fake_hn, fake_reddit, later, 14, "c")
        clock.now = later + 600
        await poll_all(daemon)
        assert daemon.runtime.engine.tick(clock()) == []
        assert [i.id for i in daemon.store.incidents()] == [incident]

        # Once the snooze is ended the same burst opens an incident: it was the snooze that held it.
        assert daemon.store.end_silence(silence.id, clock())
        assert [e["event"] for e in daemon.runtime.engine.tick(clock())] == ["opened"]
        await daemon.outbox.drain()
        assert len(fake_slack.messages) == sent + 1
    assert main(["silences", "--config", str(setup)], clock=clock) == 0
    assert "by pr.lead (Slack U0PRLEAD): snoozed from Slack on negative-spike/acme/" in capsys.readouterr().out


async def test_not_relevant_offers_and_records_an_exclusion(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    clock = Clock(T0)
    async with running(setup, clock) as daemon:
        incident = await opened_alert(daemon, clock, fake_hn, fake_reddit)
        term = daemon.store.kept_alert(incident)["terms"][0]  # type: ignore[index]
        await click(fake_socket_mode, daemon, block_actions("noise", incident))
        root, offer = fake_slack.messages
        assert "noise" in daemon.store.actions_on(incident) and daemon.store.handled(incident)
        assert "Marked not relevant by <@U0PRLEAD>" in blocks_text(root) and "noise" not in action_ids(root)
        assert offer["thread_ts"] == root["ts"] and f"Leave out mentions of *{term}* for acme" in offer["text"]
        (button,) = [e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert (button["action_id"], button["value"]) == ("exclude", incident)

        for _ in range(2):  # the second press changes nothing
            await click(fake_socket_mode, daemon, block_actions("exclude", incident, message_ts=offer["ts"]))
        (exclusion,) = daemon.store.exclusions()
        assert (exclusion.brand, exclusion.term, exclusion.author, exclusion.incident) == (
            "acme", term, "U0PRLEAD", incident)  # fmt: skip
        assert len(fake_slack.updates) == 2  # the alert redrawn once, the offer answered once
        answered = fake_slack.messages[1]
        assert f"excluded *{term}* for acme" in answered["text"] and action_ids(answered) == []

        # From now on the pipeline leaves out mentions with the term; others still count.
        fake_hn.add_hit("with-term", int(clock.now + 30), f"Acme Cloud {term} again today")
        fake_hn.add_hit("without", int(clock.now + 40), "Acme Cloud is slow today")
        clock.now += 300
        await poll_all(daemon)
        stored = {m.mention.id for m in daemon.store.mentions_between(clock.now - 300, clock.now)}
        assert stored == {"without"}

    # A restarted daemon applies it too; `monitor silences` lists it.
    async with running(setup, clock, buttons=False) as daemon:
        assert daemon.runtime.engine.pipeline.filters["acme"].brand.exclude == ("acme cloud careers", term)
    assert main(["silences", "--config", str(setup)], clock=clock) == 0
    out = capsys.readouterr().out
    assert f"#{exclusion.id}  brand acme  term {term!r}  by U0PRLEAD on {incident}" in out


async def test_unknown_incidents_and_buttons_are_ignored(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(T0)
    async with running(setup, clock) as daemon:
        incident = await opened_alert(daemon, clock, fake_hn, fake_reddit)
        with caplog.at_level(logging.INFO, "monitor.slack.interactions"):
            for action, value in (("ack", "negative-spike/acme/19700101T0000Z"), ("ack", "' OR 1=1 --"),
                                  ("snooze_24h", ""), ("delete_everything", incident)):  # fmt: skip
                await click(fake_socket_mode, daemon, block_actions(action, value))
            other = {"type": "view_submission", "user": {"id": "U0PRLEAD"}, "view": {}}
            await click(fake_socket_mode, daemon, other)
    assert len(fake_socket_mode.acks) == 5  # every envelope acked, whatever it holds
    assert fake_slack.updates == [] and len(fake_slack.messages) == 1
    assert daemon_state_untouched(setup)
    assert "ack pressed for an unknown incident 'negative-spike/acme/19700101T0000Z': ignored" in caplog.text
    assert "ignored an unknown button 'delete_everything'" in caplog.text


def daemon_state_untouched(config_path: Path) -> bool:
    store = Store.open(config_path.parent / "monitor.db")
    try:
        return store.silences() == [] and store.exclusions() == [] and store.rule_stats(0)[0].acknowledged == 0
    finally:
        store.close()


async def test_a_refused_app_token_turns_buttons_off_once(
    setup: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", TOKEN)  # the bot token where the app-level one belongs
    async with running(setup, Clock(T0)) as daemon:
        assert daemon.socket_mode is None
    (line,) = [r.getMessage() for r in caplog.records if "Socket Mode" in r.getMessage()]
    assert "not_allowed_token_type" in line and "xapp-" in line and TOKEN not in line
    assert len(fake_slack.paths("/api/apps.connections.open")) == 1


def test_rules_stats_counts_what_people_did(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.store import Action, IncidentRow

    now = T0
    store = Store.open(setup.parent / "monitor.db")
    try:
        for n, (rule, age_days, actions) in enumerate([
            ("negative-spike", 1, {"ack": 120}), ("negative-spike", 2, {"ack": 600, "snooze_4h": 700}),
            ("negative-spike", 3, {"noise": 60, "offer": 61}), ("negative-spike", 40, {"ack": 30}),
            ("old-rule", 5, {"snooze_1h": 10}),
        ]):  # fmt: skip
            opened = now - age_days * 86400
            store.save_incident(IncidentRow(f"{rule}/acme/{n}", rule, "acme", "resolved", opened, opened))
            for action, delay in actions.items():
                assert store.record_action(Action(f"{rule}/acme/{n}", action, "U1", opened + delay))
    finally:
        store.close()
    assert main(["rules", "stats", "--config", str(setup), "--format", "json"], clock=Clock(now)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["since"] == "30d"
    assert data["rules"] == [
        {"rule": "negative-spike", "opened": 3, "acknowledged": 2, "noise": 1, "snoozed": 1,
         "median_ack_seconds": 360.0},
        {"rule": "old-rule", "opened": 1, "acknowledged": 0, "noise": 0, "snoozed": 1, "median_ack_seconds": None},
    ]  # fmt: skip
    assert main(["rules", "stats", "--config", str(setup), "--since", "60d"], clock=Clock(now)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "incidents opened in the last 60d, per rule"
    assert lines[1].split() == ["rule", "opened", "acknowledged", "noise", "snoozed", "median", "to", "ack"]
    assert lines[2].split() == ["negative-spike", "4", "3", "(75%)", "1", "(25%)", "1", "(25%)", "2m"]
    assert lines[3].split() == ["old-rule", "1", "0", "(0%)", "0", "(0%)", "1", "(100%)", "-"]
    assert main(["rules", "stats", "--config", str(setup), "--since", "a month"]) == 2
    assert capsys.readouterr().err.startswith("--since: expected a duration like")


def test_a_bad_mention_is_one_clear_line(tmp_path: Path) -> None:
    from monitor.errors import InvalidFiles

    path = write_config(tmp_path, "http://127.0.0.1:1/", "http://127.0.0.1:1/", "http://127.0.0.1:1/api/")
    path.write_text(path.read_text().replace(MENTION, "@here"))
    with pytest.raises(InvalidFiles) as info:
        load_all(str(path))
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{path}:") and "slack.mention: expected Slack mentions like" in str(problem)


def render_event(kind: str = "opened", **extra: Any) -> dict[str, Any]:
    return {"event": kind, "incident": "negative-spike/acme/20261125T1010Z", "rule": "negative-spike",
            "severity": "high", "brand": "acme", "brand_name": "Acme Cloud", "at": "2026-11-25T10:10:00Z",
            "summary": "14 negative mentions", "figures": {"count": 14}, "window": "1h", **extra}  # fmt: skip


def test_mentions_ping_openings_and_updates_until_handled() -> None:
    from monitor.slack.render import render_blocks

    for kind in ("opened", "updated"):
        text, blocks = render_blocks(render_event(kind), MENTION)
        assert text.startswith(f"{MENTION} ") and blocks[0] == {"type": "section", "text": {
            "type": "mrkdwn", "text": MENTION, "verbatim": True}}  # fmt: skip
        for handled in ({"handled": True}, {"acknowledged": {"user": {"id": "U1"}, "at": "now"}}):
            text, blocks = render_blocks(render_event(kind, **handled), MENTION)
            assert MENTION not in text + json.dumps(blocks)
    text, blocks = render_blocks(render_event("resolved", resolved_after="1h", peak_count=14), MENTION)
    assert MENTION not in text + json.dumps(blocks)
    assert render_blocks(render_event()) == render_blocks(render_event(), "")  # no mention configured


def test_who_did_it_is_shown_safely() -> None:
    from monitor.slack.render import render_blocks

    forged = {"user": {"id": "<!channel>", "name": "<!channel> @here"}, "at": "<!here>"}
    _, blocks = render_blocks(render_event(acknowledged=forged, noise={"user": {"id": "W0ABC"}, "at": "Wed 10:12"}))
    shown = json.dumps(blocks)
    assert "<!channel>" not in shown and "<!here>" not in shown and "&lt;!channel&gt;" in shown
    assert "Marked not relevant by <@W0ABC> at Wed 10:12" in shown
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["snooze_1h", "snooze_4h", "snooze_24h"]


def test_readme_documents_the_new_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = readme[readme.index("## Commands") : readme.index("## Configuration")]
    for command in ("`monitor rules stats --config config.toml [--since 30d] [--format text\\|json]`",
                    "`monitor silences unexclude ID`"):  # fmt: skip
        assert command in commands, command
    assert "## Buttons" in readme and "app_token_env" in readme and "mention" in readme


@pytest.mark.wall_clock
async def test_the_running_daemon_takes_presses_and_stops(setup: Path, fake_socket_mode: FakeSocketMode) -> None:
    config, rules = load_all(str(setup))
    daemon = Daemon(config, rules, setup, clock=system)
    task = asyncio.create_task(daemon.run())
    try:
        await fake_socket_mode.connected()
        envelope = await fake_socket_mode.send(block_actions("ack", "no/such/incident"))
        await fake_socket_mode.wait_ack(envelope)
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 15) == 0
    assert daemon.socket_mode is None  # closed on the way out


async def test_a_redraw_that_failed_is_done_by_the_next_click(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode,
) -> None:  # fmt: skip
    clock = Clock(T0)
    async with running(setup, clock) as daemon:
        incident = await opened_alert(daemon, clock, fake_hn, fake_reddit)
        clock.now = T0 + 700
        fake_slack.fail_next(400, body=json.dumps({"ok": False, "error": "invalid_arguments"}))  # chat.update fails
        await click(fake_socket_mode, daemon, block_actions("ack", incident))
        assert fake_slack.updates == [] and daemon.store.actions_on(incident)["ack"].user == "U0PRLEAD"
        clock.now = T0 + 800
        await click(fake_socket_mode, daemon, block_actions("ack", incident, user_id="U0OTHER"))
        (update,) = fake_slack.updates  # drawn now, with who acknowledged first and when
        assert update["ts"] == fake_slack.messages[0]["ts"]
        assert "Acknowledged by <@U0PRLEAD> at Wed 25 Nov 10:11 UTC" in blocks_text(fake_slack.messages[0])
        await click(fake_socket_mode, daemon, block_actions("ack", incident, user_id="U0THIRD"))
        assert len(fake_slack.updates) == 1  # drawn once: nothing more to repair


def replace_in(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


async def test_a_reload_that_changes_slack_settings_reconnects_the_buttons(
    setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    fake_socket_mode: FakeSocketMode,
) -> None:  # fmt: skip
    clock = Clock(T0)
    async with running(setup, clock) as daemon:
        first = daemon.socket_mode
        await fake_socket_mode.connected()
        incident = await opened_alert(daemon, clock, fake_hn, fake_reddit)
        replace_in(setup, MENTION, "<!here>")  # [slack] changed
        daemon.scheduler.start(paused=True)  # reload pauses and resumes it, as in a running daemon
        assert await daemon.reload()
        daemon.scheduler.pause()
        assert daemon.socket_mode is not None and daemon.socket_mode is not first
        async with fake_socket_mode.changed:  # the old link closed, a new one opened
            await asyncio.wait_for(fake_socket_mode.changed.wait_for(lambda: len(fake_socket_mode.sockets) == 2), 10)
        for _ in range(100):
            if fake_socket_mode.sockets[0].closed:
                break
            await asyncio.sleep(0.05)
        assert fake_socket_mode.sockets[0].closed
        clock.now = T0 + 700
        await click(fake_socket_mode, daemon, block_actions("ack", incident))  # over the new link
        (update,) = fake_slack.updates
        assert update["ts"] == fake_slack.messages[0]["ts"]
        assert "Acknowledged by <@U0PRLEAD>" in blocks_text(fake_slack.messages[0])
