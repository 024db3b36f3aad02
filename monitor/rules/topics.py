"""Response-draft topics: trigger terms and templates, from the rules folder's topics.toml."""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from monitor.config.toml import Section, TomlFile
from monitor.mention import ScoredMention
from monitor.textmatch import TermSet, TermSets

FILE_NAME = "topics.toml"
PLACEHOLDERS = ("brand", "author", "status_url", "platform", "topic")


@dataclass(frozen=True, slots=True)
class Topic:
    """What an incident can be about, and what to say."""

    name: str
    terms: TermSet
    holding: str
    reply: str


@dataclass(frozen=True, slots=True)
class Topics:
    """All topics, general last (the fallback)."""

    topics: tuple[Topic, ...]
    general: Topic
    term_sets: TermSets = field(init=False, repr=False, compare=False)  # the topics' terms, read together

    def __post_init__(self) -> None:
        object.__setattr__(self, "term_sets", TermSets(topic.terms for topic in self.topics))

    def pick(self, mentions: Sequence[ScoredMention]) -> Topic:
        """The topic whose terms appear in the most mentions (general when none do; on a tie, the one
        found first)."""
        hits: Counter[int] = Counter()
        for scored in mentions:
            hits.update(self.term_sets.found(scored.mention.full_text))
        if not hits:
            return self.general
        return self.topics[hits.most_common(1)[0][0]]


def check_template(section: Section, key: str, template: str | None) -> str | None:
    """The template if its placeholders are known, else None with a problem recorded."""
    if template is None:
        return None
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        section.problem(key, f"bad template: {exc}")
        return None
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        section.problem(key, f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(PLACEHOLDERS)})")
        return None
    return template


def load_topics(directory: Path) -> Topics:
    """The folder's topics.toml, or the built-in one when the folder has none."""
    path = directory / FILE_NAME
    if not path.exists():
        with resources.as_file(resources.files("monitor.rules").joinpath(FILE_NAME)) as default:
            return _load(default)
    return _load(path)


def _load(path: Path) -> Topics:
    file = TomlFile.load(path)
    top = file.section("")
    top.check_keys(("topics",))
    table = top.table("topics", required=True)
    topics: list[Topic] = []
    for name in table.data:
        section = table.table(name)
        section.check_keys(("terms", "holding", "reply"))
        terms = section.text_list("terms", ()) if name == "general" else section.text_list("terms", allow_empty=False)
        holding = check_template(section, "holding", section.text("holding"))
        reply = check_template(section, "reply", section.text("reply"))
        topics.append(Topic(name, TermSet(terms or ()), holding or "", reply or ""))
    general = next((t for t in topics if t.name == "general"), None)
    if general is None and "topics" in top.data:
        table.problem("general", "a [topics.general] fallback is required")
    file.raise_problems()
    assert general is not None
    return Topics(tuple(t for t in topics if t.name != "general"), general)
