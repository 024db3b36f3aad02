"""Reading the public corpora the model is trained and measured on (see training/DATA.md).

Each corpus is a git repository, either a normal clone or a bare one (a mirror): files are read from
the work tree when there is one, else with `git show COMMIT:path` at the pinned commit. Where the
repositories are is given by environment variables or arguments, defaulting to training/data/NAME.
"""

from __future__ import annotations

import os
import subprocess
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


def tweeteval_test(given: str | None = None) -> list[tuple[str, str]]:
    """TweetEval's sentiment test split (SemEval-2017 Task 4 A test, 12,284 tweets): for measuring only."""
    repo = where(TWEETEVAL, given)
    texts, labels = (read(repo, relative, str(TWEETEVAL["commit"])) for relative in TWEETEVAL_TEST)
    pairs = list(zip(texts.splitlines(), labels.splitlines(), strict=True))
    return [(text.strip(), TWEETEVAL_LABELS[int(label)]) for text, label in pairs]
