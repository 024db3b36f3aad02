"""Reading the public corpora the model is trained and measured on (see training/DATA.md).

Each corpus is a git repository, either a normal clone or a bare one (a mirror): files are read from
the work tree when there is one, else with `git show COMMIT:path` at the pinned commit. Where the
repositories are is given by environment variables or arguments, defaulting to training/data/NAME.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import subprocess
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEMEVAL = {
    "env": "MONITOR_SEMEVAL",
    "default": HERE / "data" / "datastories-semeval2017-task4",
    "url": "https://github.com/cbaziotis/datastories-semeval2017-task4",
    "commit": "faeee5fd1c2cf38e32179a4676dff53ae01adfa8",
}
TWEETEVAL = {
    "env": "MONITOR_TWEETEVAL",
    "default": HERE / "data" / "tweeteval",
    "url": "https://github.com/cardiffnlp/tweeteval",
    "commit": "4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66",
}
# Twitter US Airline Sentiment (CrowdFlower's "Data for Everyone", as Kaggle reformatted it): the
# first commit of this repository holds Kaggle's Tweets.csv unchanged (14,640 rows, 3,421,431 bytes,
# sha256 below); its next commit edited two rows' locations, so the pin is that first commit.
AIRLINE = {
    "env": "MONITOR_AIRLINE",
    "default": HERE / "data" / "Real-Time-SciVi",
    "url": "https://github.com/eidehua/Real-Time-SciVi",
    "commit": "cd0faf96aa3e0378310408039298362c87c1d3b2",
}
AIRLINE_CSV = "twitter-airline-sentiment/Tweets.csv"
AIRLINE_SHA256 = "ea94b23f41892b290dec3330bb8cf9cb6b8bc669eaae5f3a84c40f7b0de8f15e"
# The source replaced words of the tweets with its negative-reason names ("cancelled" became
# "Cancelled Flightled", "late" "Late Flight", "booking" "Flight Booking Problems"); undone here.
_AIRLINE_REPAIRS = (
    (re.compile("Cancelled Flight", re.IGNORECASE), "cancel"),
    (re.compile("Late Flight", re.IGNORECASE), "late"),
    (re.compile("Flight Booking Problems", re.IGNORECASE), "booking"),
)
# SemEval-2017 Task 4 subtask A, English, 2013-2016: every file the 2017 task gave for training and
# development (the 2013-2016 test sets included, as the task allowed). The 2017 test set (TweetEval's
# sentiment test split) is NOT among them: it lives under gold/ and test/, which are never read.
SEMEVAL_TRAIN = [f"dataset/Subtask_A/downloaded/twitter-{name}-A.tsv" for name in (
    "2013train", "2013dev", "2013test", "2014test", "2014sarcasm", "2015train", "2015test", "2016train",
    "2016dev", "2016test")]  # fmt: skip
# Held out while choosing the regularisation and weights, then trained on too.
SEMEVAL_VALIDATION = ["dataset/Subtask_A/downloaded/twitter-2016devtest-A.tsv"]
TWEETEVAL_TEST = ("datasets/sentiment/test_text.txt", "datasets/sentiment/test_labels.txt")
TWEETEVAL_LABELS = ("negative", "neutral", "positive")  # datasets/sentiment/mapping.txt: 0, 1, 2


class Missing(Exception):
    """A corpus is not where it was looked for."""


def where(corpus: dict[str, object], given: str | None = None) -> Path:
    """The repository's folder: the argument, else the environment variable, else the default."""
    path = Path(given or os.environ.get(str(corpus["env"]), "") or str(corpus["default"]))
    if not path.exists():
        raise Missing(
            f"{corpus['url']} not found at {path}: clone it there (git clone {corpus['url']} {path}), "
            f"or set {corpus['env']} to a clone or a bare mirror of it (commit {corpus['commit']})"
        )
    return path


def read(repo: Path, relative: str, commit: str) -> str:
    """A file of the repository at the pinned commit (bare) or in its work tree."""
    if (repo / relative).exists():
        return (repo / relative).read_text(encoding="utf-8")
    git_dir = repo if (repo / "HEAD").exists() and (repo / "objects").exists() else repo / ".git"
    result = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{commit}:{relative}"], capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def semeval(files: list[str], given: str | None = None) -> list[tuple[str, str]]:
    """(text, label) pairs of SemEval files, deduplicated by tweet id and text."""
    repo = where(SEMEVAL, given)
    seen: set[str] = set()
    rows: list[tuple[str, str]] = []
    for relative in files:
        for line in read(repo, relative, str(SEMEVAL["commit"])).splitlines():
            parts = line.split("\t")
            if len(parts) < 3 or parts[1] not in TWEETEVAL_LABELS:
                continue
            tweet_id, label, text = parts[0], parts[1], parts[2].strip()
            if len(text) > 1 and text[0] == text[-1] == '"':
                text = text[1:-1].replace('""', '"')
            if not text or tweet_id in seen or text in seen:
                continue
            seen.update((tweet_id, text))
            rows.append((text, label))
    return rows


def airline(given: str | None = None, min_confidence: float = 0.0) -> list[tuple[str, str, bool]]:
    """(text, label, held out) of the airline tweets, deduplicated by text, whose annotators agreed at
    least min_confidence (CrowdFlower's airline_sentiment_confidence). Held out: a fixed fifth, chosen
    by a hash of the tweet id, for choosing settings."""
    import hashlib

    repo = where(AIRLINE, given)
    raw = read(repo, AIRLINE_CSV, str(AIRLINE["commit"]))
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    if digest != AIRLINE_SHA256:
        raise Missing(f"{AIRLINE_CSV}: sha256 {digest}, expected {AIRLINE_SHA256} (commit {AIRLINE['commit']})")
    seen: set[str] = set()
    rows: list[tuple[str, str, bool]] = []
    for row in csv.DictReader(io.StringIO(raw)):
        text = html.unescape(row["text"]).strip()
        for pattern, word in _AIRLINE_REPAIRS:
            text = pattern.sub(word, text)
        if not text or text in seen or float(row["airline_sentiment_confidence"]) < min_confidence:
            continue
        seen.add(text)
        held = zlib.crc32(row["tweet_id"].encode()) % 5 == 0
        rows.append((text, row["airline_sentiment"], held))
    return rows


def tweeteval_test(given: str | None = None) -> list[tuple[str, str]]:
    """TweetEval's sentiment test split (SemEval-2017 Task 4 A test, 12,284 tweets): for measuring only."""
    repo = where(TWEETEVAL, given)
    texts, labels = (read(repo, relative, str(TWEETEVAL["commit"])) for relative in TWEETEVAL_TEST)
    pairs = list(zip(texts.splitlines(), labels.splitlines(), strict=True))
    return [(text.strip(), TWEETEVAL_LABELS[int(label)]) for text, label in pairs]
