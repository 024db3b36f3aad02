"""monitor: a self-hosted brand-mention monitor with spike alerts to Slack.

The packages follow a mention from a poll to a Slack post, lowest layer first; each may import only
its own layer and those above it in this list (tests/test_layout.py checks it):

- foundation modules: `clock` (the one source of "now"), `durations`, `errors`, `mention` (the record
  every source produces, and the replay format), `sanitize` (a mention made safe to store),
  `textmatch` (whole-word terms, handles and hashtags, brand queries), `wording` (numbers, times and
  durations as a reader says them)
- `config/`: config.toml -> frozen dataclasses; the TOML positions behind FILE:LINE: key errors
- `sentiment/`: language gate, VADER, lexicon, the scorer
- `store/`: SQLite (sqlite-utils): schema, mentions, cursors, incidents, outbox, the daemon lock
- `sources/`: one module per platform, the HTTP policy, sweep cursors, platforms' quotas
- `rules/`: rule files, matching, counts and one pure detector per kind
- `loading`: config and rules validated together
- `alerts/`: what an incident change says (the event, terms, top posts, drafts, digests)
- `engine/`: filters, one poll, ingest and the rule tick on an injected now, incidents, replays
- `slack/`: rendering, delivery, the outbox worker, buttons over Socket Mode
- `service/`: the daemon: lifecycle, jobs, reload, health, sd_notify, ingest endpoint, shards
- `demo/`: the offline demo
- `commands/`: one module per CLI command
"""

__version__ = "0.1.0"
