"""config.toml loading: the shipped file loads; every bad value is one line naming file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.errors import InvalidFiles
from monitor.loading import load_config

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """\
[[brands]]
id = "acme"
name = "Acme Cloud"
queries = ['"acme cloud"']

[sources.hackernews]
interval = "2m"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InvalidFiles) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_shipped_config_loads() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.database == ROOT / "monitor.db"
    assert config.rules_dir == ROOT / "rules"
    assert config.brands[0].id == "python"
    assert config.sources["hackernews"].interval == timedelta(minutes=5)
    assert config.sources["reddit"].options["client_id_env"] == "REDDIT_CLIENT_ID"
    assert config.slack.token_env == "SLACK_BOT_TOKEN"


def test_defaults_fill_in(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.sources["hackernews"].interval == timedelta(minutes=2)
    assert config.sources["hackernews"].base_url.startswith("https://hn.algolia.com/")
    assert config.sentiment.negative == -0.05
    assert config.tick == timedelta(minutes=1)
    assert config.database == tmp_path / "monitor.db"


def test_bad_duration_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('interval = "2m"', "interval = 5"))
    assert problems(path) == [f'{path}:7: sources.hackernews.interval: expected a duration like "15m", got 5']


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = MINIMAL + '\n[slack]\nchanel = "#x"\ntoken_env = "xoxb-123-secret"\n\n[sources.twitter]\nenabled = true\n'
    found = problems(write(tmp_path, text))
    assert any("slack.chanel: unknown key (did you mean 'channel'?)" in p for p in found)
    assert any("slack.token_env: expected the NAME of an environment variable" in p for p in found)
    known = "bluesky, gdelt, hackernews, mastodon, newsapi, reddit, rss, stackexchange, x, youtube"
    assert any(f"sources.twitter: unknown source (known: {known})" in p for p in found)
    assert not any("xoxb-123-secret" in p for p in found)
    assert all(p.startswith(str(tmp_path / "config.toml") + ":") for p in found)


def test_brand_problems(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[brands]]\nid = "Acme"\nqueries = []\n'
    found = problems(write(tmp_path, text))
    assert any(":10: brands[1].id: use lowercase" in p for p in found)
    assert any(":11: brands[1].queries: must not be empty" in p for p in found)


def test_missing_brands_and_syntax_errors(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "[monitor]\n")) == [
        f"{tmp_path / 'config.toml'}: brands: at least one [[brands]] table is required"
    ]
    found = problems(write(tmp_path, MINIMAL + "\n[monitor\n"))
    assert len(found) == 1 and ":9: not valid TOML" in found[0]


def test_unreadable_file(tmp_path: Path) -> None:
    found = problems(tmp_path / "nope.toml")
    assert found[0].startswith(f"{tmp_path / 'nope.toml'}: cannot read")


def test_thresholds_and_timezone_checked(tmp_path: Path) -> None:
    text = MINIMAL + '\n[sentiment]\npositive = -0.5\nnegative = 2\n[monitor]\ntimezone = "Mars/Base"\n'
    found = problems(write(tmp_path, text))
    assert any("sentiment.negative: must be between -1 and 1, got 2" in p for p in found)
    assert any("monitor.timezone: unknown time zone 'Mars/Base'" in p for p in found)


def test_key_lines_skip_what_is_inside_multi_line_strings_and_arrays() -> None:
    from monitor.config.toml import key_lines

    text = '''name = "storm"
note = """
a key inside the string = 1
[alert]
"""
[match]
any_terms = [
    "outage",   # a comment with = in it
    "[down]",
    'it''s = down',
]
none_terms = ["a]b", "c"]
[detect]
window = "1h"
templates = { outage = """
We are on it.
cooldown = 3
""" }
[alert]
cooldown = "2h"
[[brands]]
id = "a"
[[brands]]
id = "b"
literal = \'\'\'
[[brands]]
\'\'\'
'''
    assert key_lines(text) == {
        "name": 1, "note": 2, "match": 6, "match.any_terms": 7, "match.none_terms": 12, "detect": 13,
        "detect.window": 14, "detect.templates": 15, "alert": 19, "alert.cooldown": 20, "brands[0]": 21,
        "brands[0].id": 22, "brands[1]": 23, "brands[1].id": 24, "brands[1].literal": 25,
    }  # fmt: skip


def test_a_problem_after_a_multi_line_value_names_its_own_line(tmp_path: Path) -> None:
    from monitor.loading import load_config

    path = tmp_path / "config.toml"
    text = (
        (ROOT / "config.toml")
        .read_text()
        .replace(
            'exclude = ["monty python", "ball python", "burmese python"]',
            'exclude = [\n  "monty python",\n  "own_accounts = 5",\n]',
        )
        .replace('own_accounts = ["ThePSF"]', "own_accounts = 5")
    )
    path.write_text(text)
    with pytest.raises(InvalidFiles) as caught:
        load_config(path)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row == "own_accounts = 5")
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{line}: brands[0].own_accounts: expected a list of strings, got 5"
    ]
