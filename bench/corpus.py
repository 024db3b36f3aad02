"""Realistic posts for the benchmarks: 40 to 280 characters, varied wording, about a named brand.

Posts are made of sentences drawn from the demo's pools, the detection streams' pools, the first
hand-written labelled set (bench/labelled.jsonl, never the frozen test split bench/brand_test.jsonl), by tone,
and templates with many slots, joined until a drawn target length is reached and cut at a word
boundary to at most 280 characters. The lengths are drawn from a spread like that of posts on
Hacker News, Reddit and X: about 35% under 100 characters, 40% from 100 to 200, the rest up to 280.
A few posts carry an emoji or a name in another script (non-ASCII), a few name a second brand.
Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from monitor.demo.generate import LAUNCH_POSTS, NEGATIVE, NEUTRAL, OUTAGE_POSTS, POSITIVE

HERE = Path(__file__).resolve().parent
DEMO_NAME = "Acme Cloud"
MIN_CHARS, MAX_CHARS = 40, 280

# Templates: {b} is the brand, other slots are filled from SLOTS.
TEMPLATES = [
    "{b} {part} has been {state} since {when}, {reaction}",
    "Anyone else seeing {problem} on {b} {when}? {aside}",
    "Switched our {workload} to {b} {when} and {verdict}",
    "{b} {part} is {quality}. {aside}",
    "Been using {b} for {duration} now: {verdict}",
    "Is {b} {part} supposed to {action}? {aside}",
    "{reaction} {b} {part} {state} again {when}.",
    "Our team moved {workload} off {b} after {problem}. {verdict}",
    "Wrote up how we run {workload} on {b}, link in the thread.",
    "{b} announced {news} {when}; {verdict}",
    "PSA: {b} {part} {state}, {aside}",
    "Comparing {b} with {other} for {workload}: {verdict}",
    "Ticket #{n} with {b} support, {duration} and counting. {reaction}",
    "The {b} {part} docs finally explain {topic}, {verdict}",
    "{b} bill for {month}: ${n}. {verdict}",
    "Honest question about {b}: how do you handle {topic}?",
]
SLOTS = {
    "part": [
        "dashboard",
        "API",
        "console",
        "CLI",
        "billing page",
        "status page",
        "object storage",
        "managed Postgres",
        "load balancer",
        "DNS",
        "support",
        "queues",
        "edge cache",
        "login",
    ],
    "when": [
        "this morning",
        "since the weekend",
        "for the last hour",
        "today",
        "last night",
        "all week",
        "after the update",
        "since Tuesday",
        "right after lunch",
    ],
    "problem": [
        "timeouts",
        "5xx errors",
        "a billing mistake",
        "slow deploys",
        "lost logs",
        "a failed migration",
        "DNS propagation delays",
        "rate limiting",
        "cold starts",
    ],
    "aside": [
        "Asking before I file a ticket.",
        "No word from them yet.",
        "Happy so far.",
        "Details in the comments.",
        "Would love to hear other experiences.",
        "Not sure who to ask.",
        "Status page says all green.",
        "Their support was quick about it.",
        "Fingers crossed.",
    ],
    "workload": [
        "our staging cluster",
        "the side project",
        "a Rails monolith",
        "three microservices",
        "our analytics jobs",
        "the mobile backend",
        "a Django app",
        "CI runners",
        "a game server",
    ],
    "duration": ["two years", "six months", "three days", "a week", "eighteen months", "a few weeks"],
    "action": [
        "log me out every hour",
        "charge for stopped instances",
        "take this long",
        "drop websocket connections",
        "show last month's usage",
    ],
    "news": [
        "a new region in Brazil",
        "price cuts on storage",
        "managed queues",
        "a free tier change",
        "a security incident report",
        "SOC 2 compliance",
        "an outage postmortem",
    ],
    "other": ["Bolt Hosting", "Nimbus", "a bare VPS", "the big three", "our own racks"],
    "topic": [
        "zero-downtime deploys",
        "backups",
        "IAM roles",
        "autoscaling",
        "private networking",
        "cost alerts",
        "log retention",
    ],
    "month": ["October", "November", "last month", "Q3"],
}
# Slots whose words carry the post's tone.
TONED = {
    "state": {
        "neutral": ["in maintenance this weekend", "moving to a new region", "changing its limits"],
        "positive": ["rock solid", "fine", "much faster", "back up"],
        "negative": ["down", "slow", "flaky", "timing out", "returning 502s", "unreachable from eu-west"],
    },
    "reaction": {
        "neutral": ["fyi.", "noted.", "we will see.", "any thoughts?"],
        "positive": ["great.", "nice work.", "loving it.", "thanks folks.", "honestly fine."],
        "negative": ["ugh.", "not impressed.", "what a mess.", "this is getting old.", "seriously?"],
    },
    "verdict": {
        "neutral": ["still evaluating", "numbers in the post", "we will report back", "it depends"],
        "positive": [
            "no regrets so far",
            "the bill went down by a third",
            "latency is great",
            "it just works",
            "support has been excellent",
            "pretty happy overall",
        ],
        "negative": [
            "it has been painful",
            "would not recommend it",
            "we are already looking elsewhere",
            "mixed feelings at best",
        ],
    },
    "quality": {
        "neutral": ["different from last year", "about what you would expect", "being redesigned"],
        "positive": ["surprisingly good", "the best I have used", "getting better", "reliable"],
        "negative": ["terrible", "confusing", "overpriced for what it is", "a bit slow"],
    },
}
EXTRAS = [" 🙃", " 🔥🔥", " 👍", " — via Zürich", " (¿alguien más?)", " 😤"]


CRISIS = re.compile(r"lawsuit|class action|recall|breach|data leak|hacked|boycott", re.IGNORECASE)
# A post's tone, drawn first: its sentences come from that tone's pool (or a template). About one post in
# seven is a complaint; the crisis rule's words are rare, as in ordinary talk about a brand.
TONES = {"neutral": 0.55, "positive": 0.30, "negative": 0.148, "crisis": 0.002}


def _pools() -> dict[str, list[str]]:
    """Whole sentences about DEMO_NAME by tone (templates are filled per post)."""
    from streams import CROSS, QUESTIONS, REPEATS

    labelled = [json.loads(line) for line in (HERE / "labelled.jsonl").read_text().splitlines() if line]
    pools = {
        "neutral": [*NEUTRAL, *QUESTIONS, *CROSS],
        "positive": [*POSITIVE, *LAUNCH_POSTS],
        "negative": [*NEGATIVE, *OUTAGE_POSTS, *(t.replace("{n}", "4411") for t in REPEATS)],
        "crisis": [],
    }
    for post in labelled:
        tone = "crisis" if CRISIS.search(post["text"]) else post["label"]
        pools[tone].append(post["text"])
    return pools


def _length(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.35:
        return rng.randint(MIN_CHARS, 99)
    if roll < 0.75:
        return rng.randint(100, 199)
    return rng.randint(200, MAX_CHARS)


def _sentence(rng: random.Random, pool: Sequence[str], tone: str) -> str:
    if rng.random() < 0.85:
        return rng.choice(pool)
    text = rng.choice(TEMPLATES)
    fill = {k: rng.choice(v) for k, v in SLOTS.items()}
    fill.update({k: rng.choice(v["negative" if tone == "crisis" else tone]) for k, v in TONED.items()})
    return text.format(b=DEMO_NAME, n=rng.randrange(100, 9999), **fill)


_ACME = re.compile(r"@?acme ?cloud|\bacme\b", re.IGNORECASE)


def _named(text: str, name: str) -> str:
    return _ACME.sub(name, text)


def _ended(sentence: str) -> str:
    return sentence if sentence[-1] in ".!?)" else sentence + "."


def posts(n: int, names: Sequence[str], seed: int = 1) -> Iterator[tuple[str, int]]:
    """n posts as (text, index into names of the brand it is about); each names that brand."""
    rng = random.Random(seed)
    pools = _pools()
    tones, weights = list(TONES), list(TONES.values())
    for _ in range(n):
        brand = rng.randrange(len(names))
        tone = rng.choices(tones, weights)[0]
        pool = pools["negative"] if tone == "crisis" else pools[tone]
        target = _length(rng)
        parts = [rng.choice(pools["crisis"]) if tone == "crisis" else _sentence(rng, pool, tone)]
        length, tries = len(parts[0]), 0
        while (length < target and tries < 4) or length < MIN_CHARS:  # sentences that end near the target
            sentence = _sentence(rng, pool, tone)
            if rng.random() < 0.4:  # later sentences often leave the brand's name out
                sentence = _ACME.sub("it", sentence)
            if length + len(sentence) + 1 <= target + 30:
                parts[-1] = _ended(parts[-1])
                parts.append(sentence)
                length += len(sentence) + 1
            tries += 1
        text = " ".join(parts)
        if len(text) > MAX_CHARS:
            text = text[: text.rfind(" ", 0, MAX_CHARS)]
        if DEMO_NAME not in text:  # the first sentence's name fell in a cut: name the brand up front
            text = f"{DEMO_NAME}: {text}"[:MAX_CHARS]
        text = _named(text, names[brand])
        if rng.random() < 0.03:
            text = f"{text} (vs {names[(brand + 1) % len(names)]})"
        if rng.random() < 0.05:
            text += rng.choice(EXTRAS)
        yield text[:MAX_CHARS], brand


def summary(texts: Sequence[str]) -> str:
    """Mean length, range and how many distinct texts: the mix a figure was measured on."""
    lengths = sorted(len(t) for t in texts)
    return (
        f"{len(texts):,} posts, {lengths[0]}-{lengths[-1]} characters (mean {sum(lengths) / len(lengths):.0f},"
        f" median {lengths[len(lengths) // 2]}), {len(set(texts)):,} distinct"
    )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE))
    sample = [t for t, _ in posts(20_000, ["Acme Cloud", "Globex", "Initech", "Umbrella"])]
    print(summary(sample))
    for text in sample[:12]:
        print(f"{len(text):4d}  {text}")
