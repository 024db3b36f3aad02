"""Synthetic brand streams with known spikes and decoys, one scenario a stream (bench/detection_eval.py).

Each stream is five weeks of one brand's mentions (two brands in "other brand's launch"): a daily rhythm
(quiet nights, busy afternoons), a weekly one (quieter weekends, a Monday-morning rise), Poisson noise on
top of day-to-day and hour-to-hour swings. After a two-week warm-up come the scenario's spikes and, in
every stream, decoys that are not crises: two launches the brand announced (positive bursts, marked as
expected) and a neutral news burst. The truth (when each spike ran, how big it was) is kept beside it.

A spike of size m runs, once ramped up, at m times the brand's average hour of negative mentions: it
brings (m - 1) average hours of negatives an hour on top of the usual ones. Sizes are 3x (reported, but
below the issue's goal), 5x, 8x and 12x.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from monitor.demo.generate import LAUNCH_POSTS, NEGATIVE, NEUTRAL, OUTAGE_POSTS, POSITIVE
from monitor.mention import Mention

START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday
DAYS = 35
WARMUP_DAYS = 14
HOUR = 3600.0
MINUTE = 60.0
STEP = 5 * MINUTE
SIZES = (3, 5, 8, 12)
TARGET_SIZE = 5  # the goals are for spikes of 5x and more
GAP = 12 * HOUR  # between two bursts of one brand, so that each detection belongs to one of them

# "Is it down?": people asking before they complain. The streams label them neutral (a crisis that starts
# neutral, for the storm rule); the learned scorer reads them negative, as issue 14's brand sets label them.
QUESTIONS = [
    "Is Acme Cloud having issues right now? Our deploy just hung.",
    "Anyone else seeing Acme Cloud requests hang this morning?",
    "Acme Cloud status page is green but our API calls are not going through, anyone?",
    "Quick check: is the Acme Cloud console loading for anyone else?",
    "Acme Cloud in eu-west: are requests going through for you right now?",
    "Did something change at Acme Cloud in the last hour? Our jobs are queued and waiting.",
    "Is anyone else getting 5xx responses from Acme Cloud right now?",
]
# One author, many near-identical complaints: a person (or a bot) repeating themselves, not a crisis.
REPEATS = [
    "@AcmeCloud still no answer to my ticket {n}, this is terrible service",
    "Acme Cloud support ignored me again, ticket {n} open for days. Awful.",
    "Acme Cloud billing charged me twice again, refund request {n} still ignored!!",
]
# A crisis: the demo's outage posts and complaints, those our scorer labels negative (the evaluation
# measures detection, not sentiment: a spike's size is its count of negative mentions).
SPIKE_POSTS = [t for t in OUTAGE_POSTS + NEGATIVE if "timeouts everywhere" not in t and "docs are outdated" not in t]
# Another brand's launch that mentions ours in passing.
CROSS = [
    "Bolt Hosting launched queues today, looks like what Acme Cloud shipped last year.",
    "Comparing the new Bolt Hosting queues with Acme Cloud for our next project.",
    "Bolt Hosting vs Acme Cloud after today's launch: pricing looks similar.",
]


@dataclass(frozen=True, slots=True)
class Profile:
    """A brand's usual talk."""

    id: str
    name: str
    negatives: float  # mean negative mentions an hour
    negative_share: float
    positive_share: float
    weekly_peak: bool = False  # every Thursday 16:00-18:00 four times the negatives: normal for this brand

    @property
    def volume(self) -> float:
        """Mean mentions an hour."""
        return self.negatives / self.negative_share


@dataclass(frozen=True, slots=True)
class Burst:
    """A span of extra mentions of one kind: the truth for spikes, decoys otherwise."""

    kind: str  # spike | question | launch | news | repeats | weekly
    brand: str
    start: float
    end: float
    per_hour: float  # extra mentions an hour once ramped up
    ramp: float = 10 * MINUTE
    size: float = 0.0  # spikes: the multiple of an average hour of negatives
    expected: bool = False  # announced by the brand (launches)
    author: str = ""  # repeats: who


@dataclass
class Stream:
    scenario: str
    seed: int
    brands: list[Profile]
    mentions: list[Mention] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    # Each text's label by the pool it was drawn from: what a reader would call it (the truth labels).
    labels: dict[str, str] = field(default_factory=dict)
    # What only the generator knows, for bench/detection_bound.py's oracles: each brand's usual negatives
    # expected in each step from the stream's start (its rhythm, swings and weekly peak, without bursts;
    # calm: the same without the swings), and each mention's origin (a burst's kind, or "usual").
    rates: dict[str, list[float]] = field(default_factory=dict)
    calm: dict[str, list[float]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def spikes(self, brand: str | None = None) -> list[Burst]:
        return [b for b in self.bursts if b.kind == "spike" and (brand is None or b.brand == brand)]

    def expected(self) -> list[Burst]:
        return [b for b in self.bursts if b.expected]


def rhythm(ts: float) -> float:
    """The usual volume at ts relative to the stream's mean: daily and weekly shape, Monday rise."""
    t = datetime.fromtimestamp(ts, UTC)
    hour = t.hour + t.minute / 60
    daily = 0.25 + 1.5 * math.exp(-(((hour - 15.0) / 4.5) ** 2))
    weekly = 0.6 if t.weekday() >= 5 else 1.0
    monday = 1.7 if t.weekday() == 0 and 8 <= hour < 11 else 1.0
    return daily * weekly * monday


def weekly_peak(ts: float) -> bool:
    """Thursday 16:00-18:00: the weekly release, when complaints always quadruple."""
    t = datetime.fromtimestamp(ts, UTC)
    return t.weekday() == 3 and 16 <= t.hour < 18


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, a normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Placer:
    """Finds free spans for a brand's bursts in the live part of a stream."""

    def __init__(self, rng: random.Random, stream: Stream) -> None:
        self.rng, self.stream = rng, stream
        self.first = (START + timedelta(days=WARMUP_DAYS)).timestamp()
        self.last = (START + timedelta(days=DAYS)).timestamp() - 3 * HOUR

    def free(self, brand: str, start: float, end: float) -> bool:
        if start < self.first or end > self.last:
            return False
        if any(weekly_peak(t) for t in (start, end, (start + end) / 2)) and self._has_peak(brand):
            return False
        return all(end + GAP <= b.start or start >= b.end + GAP for b in self.stream.bursts if b.brand == brand)

    def _has_peak(self, brand: str) -> bool:
        return any(p.id == brand and p.weekly_peak for p in self.stream.brands)

    def place(self, brand: str, length: float, at_hour: float | None = None) -> float | None:
        for _ in range(500):
            start = self.first + self.rng.random() * (self.last - length - self.first)
            if at_hour is not None:  # the same day, at this hour (plus up to 30 minutes)
                start = start - start % 86400 + at_hour * HOUR + self.rng.random() * 30 * MINUTE
            start -= start % STEP  # mentions are drawn in steps: a burst starts with one
            if self.free(brand, start, start + length):
                return start
        return None


def _spike(placer: Placer, profile: Profile, size: float, length: float, ramp: float = 10 * MINUTE,
           at_hour: float | None = None) -> Burst | None:  # fmt: skip
    start = placer.place(profile.id, length, at_hour)
    if start is None:
        return None
    return Burst("spike", profile.id, start, start + length, (size - 1) * profile.negatives, ramp, size)


def _sizes(rng: random.Random, n: int) -> list[int]:
    sizes = [SIZES[i % len(SIZES)] for i in range(n)]
    rng.shuffle(sizes)
    return sizes


def _normal_brand(rng: random.Random, low: float = 2.0, high: float = 8.0) -> Profile:
    return Profile("acme", "Acme Cloud", rng.uniform(low, high), rng.uniform(0.12, 0.25), rng.uniform(0.2, 0.35))


# Scenarios: each takes (rng, stream, placer) with the stream's brands set, and adds its bursts.


def _standard(rng: random.Random, stream: Stream, placer: Placer) -> None:
    for size in _sizes(rng, 6):
        stream.bursts.extend(filter(None, [_spike(placer, stream.brands[0], size, rng.choice((1, 2, 3)) * HOUR)]))


def _quietest_hour(rng: random.Random, stream: Stream, placer: Placer) -> None:
    for size in _sizes(rng, 6):  # 03:00, the quietest hour of the day (of the week at weekends)
        stream.bursts.extend(filter(None, [_spike(placer, stream.brands[0], size, HOUR, at_hour=2.75)]))


def _thirty_minutes(rng: random.Random, stream: Stream, placer: Placer) -> None:
    for size in _sizes(rng, 6):
        stream.bursts.extend(filter(None, [_spike(placer, stream.brands[0], size, 30 * MINUTE, 5 * MINUTE)]))


def _slow_ramp(rng: random.Random, stream: Stream, placer: Placer) -> None:
    for size in _sizes(rng, 5):  # six hours from nothing to full size, two more at full size
        stream.bursts.extend(filter(None, [_spike(placer, stream.brands[0], size, 8 * HOUR, 6 * HOUR)]))


def _other_launch(rng: random.Random, stream: Stream, placer: Placer) -> None:
    acme, bolt = stream.brands
    for size in _sizes(rng, 4):
        launch = placer.place(bolt.id, 4 * HOUR)
        if launch is None:
            continue
        stream.bursts.append(Burst("launch", bolt.id, launch, launch + 4 * HOUR, 5 * bolt.volume, expected=True))
        start = launch + rng.uniform(30, 90) * MINUTE
        start -= start % STEP
        length = rng.choice((1, 2)) * HOUR
        if placer.free(acme.id, start, start + length):
            stream.bursts.append(Burst("spike", acme.id, start, start + length, (size - 1) * acme.negatives, size=size))


def _repeats(rng: random.Random, stream: Stream, placer: Placer) -> None:
    acme = stream.brands[0]
    for i in range(4):
        length = rng.uniform(20, 60) * MINUTE
        start = placer.place(acme.id, length)
        if start is not None:
            posts = rng.randint(12, 30)
            stream.bursts.append(Burst("repeats", acme.id, start, start + length, posts / length * HOUR, ramp=1.0,
                                       author=f"angry_dev{stream.seed}_{i}"))  # fmt: skip
    for size in _sizes(rng, 3):
        stream.bursts.extend(filter(None, [_spike(placer, acme, size, rng.choice((1, 2)) * HOUR)]))


def _weekly(rng: random.Random, stream: Stream, placer: Placer) -> None:
    for size in _sizes(rng, 4):
        stream.bursts.extend(filter(None, [_spike(placer, stream.brands[0], size, rng.choice((1, 2)) * HOUR)]))


def _neutral_start(rng: random.Random, stream: Stream, placer: Placer) -> None:
    acme = stream.brands[0]
    for size in _sizes(rng, 4):  # 20 to 40 minutes of "is it down?" before the complaints come
        lead = rng.choice((20, 30, 40)) * MINUTE
        start = placer.place(acme.id, lead + 2 * HOUR)
        if start is None:
            continue
        stream.bursts.append(Burst("question", acme.id, start, start + lead + HOUR, size * acme.volume, 5 * MINUTE))
        stream.bursts.append(Burst("spike", acme.id, start + lead, start + lead + 2 * HOUR,
                                   (size - 1) * acme.negatives, size=size))  # fmt: skip


SCENARIOS: dict[str, Callable[[random.Random, Stream, Placer], None]] = {
    "standard": _standard,
    "low volume": _standard,
    "quietest hour": _quietest_hour,
    "30-minute": _thirty_minutes,
    "slow ramp": _slow_ramp,
    "other brand's launch": _other_launch,
    "one-author repeats": _repeats,
    "weekly peak": _weekly,
    "neutral start": _neutral_start,
}


def generate(scenario: str, seed: int) -> Stream:
    """One scenario's stream with its truth; deterministic for (scenario, seed)."""
    rng = random.Random(f"{scenario}/{seed}")
    if scenario == "low volume":
        brands = [_normal_brand(rng, 0.5, 2.0)]
    elif scenario == "other brand's launch":
        bolt = _normal_brand(rng)
        brands = [_normal_brand(rng), Profile("bolt", "Bolt Hosting", bolt.negatives, bolt.negative_share,
                                               bolt.positive_share)]  # fmt: skip
    else:
        brands = [_normal_brand(rng)]
    if scenario == "weekly peak":
        brands[0] = replace(brands[0], weekly_peak=True)
    stream = Stream(scenario, seed, brands)
    placer = Placer(rng, stream)
    SCENARIOS[scenario](rng, stream, placer)
    for profile in brands:  # every brand: two launches it announced, one news story it did not
        for kind, times, length, expected in (("launch", 5, 3 * HOUR, True), ("launch", 3, 5 * HOUR, True),
                                              ("news", 3, 2 * HOUR, False)):  # fmt: skip
            start = placer.place(profile.id, length)
            if start is not None:
                stream.bursts.append(Burst(kind, profile.id, start, start + length, times * profile.volume,
                                           expected=expected))  # fmt: skip
    stream.bursts.sort(key=lambda b: b.start)
    _talk(rng, stream)
    return stream


POOL_LABELS = {"negative": "negative", "spike": "negative", "repeats": "negative", "positive": "positive",
               "launch": "positive", "neutral": "neutral", "question": "neutral"}  # fmt: skip


def _pool_name(pools: dict[str, dict[str, list[str]]], pool: list[str]) -> str:
    return next(name for brand in pools.values() for name, texts in brand.items() if texts is pool)


def _named(texts: Sequence[str], profile: Profile) -> list[str]:
    return [t.replace("Acme Cloud", profile.name).replace("@AcmeCloud", "@" + profile.name.replace(" ", ""))
            for t in texts]  # fmt: skip


def _talk(rng: random.Random, stream: Stream) -> None:
    """The mentions: each brand's usual talk with its swings, and every burst on top."""
    t0, end = START.timestamp(), (START + timedelta(days=DAYS)).timestamp()
    pools = {
        p.id: {
            "negative": _named(NEGATIVE, p), "positive": _named(POSITIVE, p), "neutral": _named(NEUTRAL, p),
            "spike": _named(SPIKE_POSTS, p), "launch": _named(LAUNCH_POSTS, p) + (
                CROSS if p.id == "bolt" else []), "question": _named(QUESTIONS, p), "repeats": _named(REPEATS, p),
        }
        for p in stream.brands
    }  # fmt: skip
    swings = {p.id: [1.0, 1.0] for p in stream.brands}
    n = 0
    t = t0
    repeat_text: dict[Burst, str] = {}
    while t < end:
        lambdas: list[tuple[list[str], float, Burst | None]] = []
        for p in stream.brands:
            swing = swings[p.id]
            if int(t) % 86400 == 0:
                swing[0] = rng.lognormvariate(0, 0.15)
            if int(t) % 3600 == 0:
                swing[1] = rng.gammavariate(20, 1 / 20)
            base = p.volume * rhythm(t) * swing[0] * swing[1] * STEP / HOUR
            negatives = base * p.negative_share * (4.0 if p.weekly_peak and weekly_peak(t) else 1.0)
            stream.rates.setdefault(p.id, []).append(negatives)
            stream.calm.setdefault(p.id, []).append(negatives / (swing[0] * swing[1]))
            lambdas += [(pools[p.id]["negative"], negatives, None),
                        (pools[p.id]["positive"], base * p.positive_share, None),
                        (pools[p.id]["neutral"], base * (1 - p.negative_share - p.positive_share), None)]  # fmt: skip
        for burst in stream.bursts:
            if burst.start <= t < burst.end:
                ramp = min(1.0, (t - burst.start + STEP) / burst.ramp)
                pool = "neutral" if burst.kind == "news" else burst.kind
                lambdas.append((pools[burst.brand][pool], burst.per_hour * ramp * STEP / HOUR, burst))
        for pool, lam, burst in lambdas:
            for _ in range(poisson(rng, lam)):
                n += 1
                if burst is not None and burst.kind == "repeats":
                    base_text = repeat_text.setdefault(burst, rng.choice(pool))
                    text = base_text.format(n=rng.randrange(1000, 9999)) + rng.choice(("", "!", " !!", " again"))
                    author = burst.author
                else:
                    text, author = f"{rng.choice(pool).format(n=n)} #{n % 101}", f"user{rng.randrange(20_000)}"
                stream.labels[text] = POOL_LABELS[_pool_name(pools, pool)]
                stream.origins[f"s{stream.seed}-{n}"] = burst.kind if burst is not None else "usual"
                stream.mentions.append(Mention(
                    platform=rng.choice(("reddit", "hackernews", "mastodon")), id=f"s{stream.seed}-{n}", text=text,
                    created_at=datetime.fromtimestamp(t + rng.random() * STEP, UTC), author=author,
                ))  # fmt: skip
        t += STEP
    stream.mentions.sort(key=lambda m: m.created_at)
