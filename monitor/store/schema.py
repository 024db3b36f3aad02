"""The schema, as migrations applied in order and recorded in PRAGMA user_version."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

MENTION_COLUMNS = (
    "brand, platform, id, text, title, author, author_followers, url, lang, likes, replies, reposts,"
    " created_at, compound, label, backfill, copy_of, scorer"
)


def _migration_1(db: sqlite_utils.Database) -> None:
    _mentions_table(db)
    db.table("cursors").create(
        {"source": str, "brand": str, "query": str, "state": str, "updated_at": float},
        pk=("source", "brand", "query"),
    )
    _incidents_and_outbox_tables(db)


def _mentions_table(db: sqlite_utils.Database) -> None:
    db.table("mentions").create(
        {
            "rowid": int,
            "brand": str,
            "platform": str,
            "id": str,
            "text": str,
            "title": str,
            "author": str,
            "author_followers": int,
            "url": str,
            "lang": str,
            "likes": int,
            "replies": int,
            "reposts": int,
            "created_at": float,
            "fetched_at": float,
            "compound": float,
            "label": str,
            "backfill": int,
        },
        pk="rowid",
        not_null={"brand", "platform", "id", "created_at"},
    )
    db.table("mentions").create_index(["brand", "platform", "id"], unique=True)
    db.table("mentions").create_index(["brand", "created_at"])
    db.table("mentions").create_index(["created_at"])


def _incidents_and_outbox_tables(db: sqlite_utils.Database) -> None:
    db.table("incidents").create(
        {
            "id": str,
            "rule": str,
            "brand": str,
            "status": str,
            "opened_at": float,
            "updated_at": float,
            "resolved_at": float,
            "below_since": float,
            "cooldown_until": float,
            "last_posted_count": int,
            "peak_count": int,
            "thread_ts": str,
            "figures": str,
        },
        pk="id",
        not_null={"rule", "brand", "status", "opened_at"},
    )
    db.table("incidents").create_index(["rule", "brand", "opened_at"])
    db.table("outbox").create(
        {
            "id": int,
            "incident": str,
            "event": str,
            "payload": str,
            "created_at": float,
            "attempts": int,
            "next_attempt_at": float,
            "last_error": str,
        },
        pk="id",
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    # sending_at: set (committed) just before a post, so that after a crash the post can be looked
    # for in Slack rather than sent twice. channel: where the incident's thread lives.
    db.execute("ALTER TABLE outbox ADD COLUMN sending_at REAL")
    db.execute("ALTER TABLE incidents ADD COLUMN channel TEXT")


def _migration_3(db: sqlite_utils.Database) -> None:
    db.table("silences").create(
        {
            "id": int,
            "rule": str,
            "brand": str,
            "terms": str,
            "author": str,
            "comment": str,
            "created_at": float,
            "expires_at": float,
        },
        pk="id",
        not_null={"rule", "brand", "created_at", "expires_at"},
    )


def _migration_4(db: sqlite_utils.Database) -> None:
    # Hours in which a brand was polled successfully: a baseline counts these, zeros included, and
    # leaves out the hours when its sources were down.
    db.execute("CREATE TABLE watched (brand TEXT NOT NULL, hour INTEGER NOT NULL, PRIMARY KEY (brand, hour))")


def _migration_5(db: sqlite_utils.Database) -> None:
    # Copies of one story or link across sites and sources: the keys they are grouped by (see
    # monitor.pipeline.group_keys) and, on a copy, "platform:id" of the mention stored first. Copies
    # are kept but not counted toward rules. Rows stored before this have no keys: later copies of
    # them count once more, which the week the migration runs can bear.
    db.execute("ALTER TABLE mentions ADD COLUMN url_key TEXT")
    db.execute("ALTER TABLE mentions ADD COLUMN title_key TEXT")
    db.execute("ALTER TABLE mentions ADD COLUMN copy_of TEXT")
    db.execute(
        "CREATE INDEX idx_mentions_brand_url_key ON mentions (brand, url_key, created_at) WHERE url_key IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX idx_mentions_brand_title_key ON mentions (brand, title_key, created_at)"
        " WHERE title_key IS NOT NULL"
    )


def _migration_6(db: sqlite_utils.Database) -> None:
    # Slack buttons. actions: one row per (incident, action) a person took, so a second click or a
    # redelivered envelope finds its row and does nothing twice. exclusions: terms added from Slack
    # to a brand's exclusions, applied on top of config's. incidents.alert: the opening alert as
    # delivered, so that acknowledging can redraw it.
    db.execute(
        "CREATE TABLE actions (incident TEXT NOT NULL, action TEXT NOT NULL, user TEXT NOT NULL,"
        " at REAL NOT NULL, detail TEXT, PRIMARY KEY (incident, action))"
    )
    db.execute(
        "CREATE TABLE exclusions (id INTEGER PRIMARY KEY, brand TEXT NOT NULL, term TEXT NOT NULL,"
        " author TEXT NOT NULL, incident TEXT, created_at REAL NOT NULL)"
    )
    db.execute("CREATE UNIQUE INDEX idx_exclusions_brand_term ON exclusions (brand, term COLLATE NOCASE)")
    db.execute("ALTER TABLE incidents ADD COLUMN alert TEXT")


def _migration_7(db: sqlite_utils.Database) -> None:
    # Alert events Slack refused for good for reasons of their own (msg_too_long, invalid_blocks):
    # moved here out of the outbox so that one bad alert does not hold back every later one; shown
    # by `monitor status`. Refusals that concern every alert (a revoked token, a missing channel)
    # keep the event in the outbox until ops fix them.
    db.execute(
        "CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, incident TEXT, event TEXT, payload TEXT,"
        " created_at REAL, failed_at REAL, attempts INTEGER, error TEXT)"
    )
    # Outbox ids are never reused (AUTOINCREMENT): a post's metadata carries its outbox id, and after a
    # crash the outbox looks in Slack for that id. Once the outbox had emptied, a plain rowid table
    # handed the next event the id of one already posted, which the look-up then took for it.
    db.execute(
        "CREATE TABLE outbox_new (id INTEGER PRIMARY KEY AUTOINCREMENT, incident TEXT, event TEXT,"
        " payload TEXT, created_at REAL, attempts INTEGER, next_attempt_at REAL, last_error TEXT,"
        " sending_at REAL)"
    )
    db.execute(
        "INSERT INTO outbox_new SELECT id, incident, event, payload, created_at, attempts, next_attempt_at,"
        " last_error, sending_at FROM outbox"
    )
    db.execute("DROP TABLE outbox")
    db.execute("ALTER TABLE outbox_new RENAME TO outbox")


def _migration_8(db: sqlite_utils.Database) -> None:
    # The version of the scorer behind each mention's compound and label (Scorer.version_of), so that
    # a new model or lexicon is never compared with scores it did not give: `monitor status` and
    # `monitor check` say when history was scored by another version, `monitor rescore` brings it over.
    # Rows stored before this have none (read as "unknown").
    db.execute("ALTER TABLE mentions ADD COLUMN scorer TEXT")


def _migration_9(db: sqlite_utils.Database) -> None:
    # A brand's posts (copies left out) in a span are counted and sampled for every alert (what it is
    # about, engine/earlier.py): with copy_of in the brand-and-time index they are counted in the index
    # alone, not with a look-up of each row (4,000 of them: a few ms an alert). Same name: the queries
    # that name it are unchanged. Rebuilt from the table, once.
    db.execute("DROP INDEX idx_mentions_brand_created_at")
    db.execute("CREATE INDEX idx_mentions_brand_created_at ON mentions (brand, created_at, copy_of)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
]


def migrate(db: sqlite_utils.Database) -> None:
    """Apply migrations newer than PRAGMA user_version, each in its own transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
