"""Makes the demo's sample data: four days of ordinary talk about a brand, then a live stretch
with a launch (many positive mentions: not a crisis) and an outage (a negative spike).

Run `python -m monitor.demo.generate > monitor/demo/sample.jsonl`; the output is deterministic.
"""

from __future__ import annotations

import json
import math
import random
import sys
from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # a Monday
LIVE_START = START + timedelta(days=4, hours=9)  # Friday 09:00 UTC: the demo's "now" at start
LIVE_HOURS = 8
LAUNCH = LIVE_START + timedelta(minutes=20)
OUTAGE = LIVE_START + timedelta(hours=3)

NEUTRAL = [
    "Has anyone moved a Postgres cluster to Acme Cloud? Curious how the migration went.",
    "Comparing Acme Cloud and two other providers for a side project, notes in the thread.",
    "Acme Cloud pricing page updated, the storage tier looks different now.",
    "Is there a Terraform provider for Acme Cloud that people actually use?",
    "We run our staging on Acme Cloud, production elsewhere. Ask me anything.",
    "Acme Cloud region list: does anyone know if they plan a region in Brazil?",
]
POSITIVE = [
    "Acme Cloud support answered in ten minutes and fixed my DNS issue. Impressed.",
    "Deploys on Acme Cloud are fast and boring, which is exactly what I want.",
    "Moved our app to Acme Cloud last month, bill went down and latency is great.",
    "Honestly the Acme Cloud dashboard is the nicest one I have used.",
]
NEGATIVE = [
    "Acme Cloud billing is confusing, I was charged for a volume I deleted.",
    "Acme Cloud docs are outdated again, the CLI flags changed and nobody updated them.",
    "Waiting three days for Acme Cloud support to answer a ticket. Not great.",
]
LAUNCH_POSTS = [
    "Acme Cloud just launched managed queues, this looks excellent!",
    "The new Acme Cloud queues are great, congrats to the team.",
    "Trying the Acme Cloud launch today, love how simple the setup is.",
    "Acme Cloud managed queues: finally, thank you!",
]
OUTAGE_POSTS = [
    "Acme Cloud is down for us, every request returns 502. Terrible timing.",
    "Is Acme Cloud down? Our whole site is broken and the status page says nothing.",
    "Acme Cloud outage again. Customers are angry and we can't even log in to the console.",
    "Third Acme Cloud outage this month. Seriously considering leaving, this is awful.",
    "Acme Cloud API timeouts everywhere, deploys failing, support not answering. Horrible.",
    "Acme Cloud down down down. Lost orders all morning, very frustrating.",
    "Anyone else getting errors from Acme Cloud? Our app is dead and we are losing money.",
    "Acme Cloud is down again?",
]
AUTHORS = [
    "jdoe",
    "mkaur",
    "tlee",
    "sam_r",
    "priya",
    "olafk",
    "nina_w",
    "devops_dan",
    "rbrown",
    "zhang",
    "kofi",
    "lucia",
    "ahmed",
    "ellie",
    "marco",
    "yuki",
    "ivan",
    "sara",
    "tom_h",
    "beth",
]


def hourly_rate(moment: datetime) -> float:
    """Ordinary mentions an hour: busier in the working day, quieter at weekends."""
    day = 0.5 if moment.weekday() >= 5 else 1.0
    shape = 0.35 + math.exp(-(((moment.hour - 15) / 4.5) ** 2))
    return 5.0 * day * shape


def make(rng: random.Random, moment: datetime, text: str, n: int) -> dict[str, object]:
    """One replay object, alternating platforms."""
    platform = "hackernews" if n % 3 else "reddit"
    item: dict[str, object] = {
        "platform": platform,
        "id": str(45_000_000 + n) if platform == "hackernews" else f"t3_dm{n:05d}",
        "text": text,
        "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "author": rng.choice(AUTHORS),
        "likes": rng.randint(0, 40),
        "replies": rng.randint(0, 12),
    }
    if platform == "reddit":
        item["url"] = f"https://www.reddit.com/r/devops/comments/{n:05d}/"
    else:
        item["url"] = f"https://news.ycombinator.com/item?id={item['id']}"
    return item


def generate(seed: int = 7) -> list[dict[str, object]]:
    """The whole sample, oldest first."""
    rng = random.Random(seed)
    items: list[dict[str, object]] = []
    end = LIVE_START + timedelta(hours=LIVE_HOURS)
    hour = START
    while hour < end:
        count = _poisson(rng, hourly_rate(hour))
        for _ in range(count):
            roll = rng.random()
            pool = NEGATIVE if roll < 0.15 else POSITIVE if roll < 0.45 else NEUTRAL
            moment = hour + timedelta(seconds=rng.randrange(3600))
            items.append(make(rng, moment, rng.choice(pool), len(items)))
        hour += timedelta(hours=1)
    for _ in range(30):
        moment = LAUNCH + timedelta(seconds=rng.randrange(75 * 60))
        items.append(make(rng, moment, rng.choice(LAUNCH_POSTS), len(items)))
    for _ in range(42):
        # The outage: a burst that peaks in its first half hour, then tails off.
        moment = OUTAGE + timedelta(seconds=int(rng.expovariate(1 / 1500)) % 5400)
        items.append(make(rng, moment, rng.choice(OUTAGE_POSTS), len(items)))
    items.sort(key=lambda item: str(item["created_at"]))
    return items


def _poisson(rng: random.Random, lam: float) -> int:
    threshold, k, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        k += 1
        product *= rng.random()
    return k


if __name__ == "__main__":
    for item in generate():
        sys.stdout.write(json.dumps(item) + "\n")
