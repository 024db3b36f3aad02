"""`monitor score`: texts (or replay objects) on stdin scored exactly as the daemon scores them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from monitor.loading import load_config
from monitor.sentiment import Scorer


def parse_line(line: str, brand: str | None) -> tuple[str, str | None, dict[str, Any], str | None] | None:
    """(text, declared language, fields to echo, brand) of one input line; None for a blank one. A line
    that is a replay object is read as one (its title and text, its lang, id and brand)."""
    text, lang, extra = line.rstrip("\n"), None, {}
    if not text.strip():
        return None
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            text = "\n".join(str(obj[k]) for k in ("title", "text") if obj.get(k))
            lang = obj.get("lang")
            extra = {"id": obj["id"]} if "id" in obj else {}
            brand = obj.get("brand") or brand
    return text, lang, extra, brand


def run(args: argparse.Namespace) -> int:
    """One JSON object a line with compound and label (with --explain also the model's confidence in the
    label, the words and phrases that weighed most toward it, and the scorer's version); exit 2 for an
    unknown --brand."""
    config = load_config(args.config)
    if args.brand and config.brand(args.brand) is None:
        known = ", ".join(b.id for b in config.brands)
        print(f"--brand: unknown brand {args.brand!r} (known: {known})", file=sys.stderr)
        return 2
    scorer = Scorer.of(config)
    for line in sys.stdin:
        parsed = parse_line(line, args.brand)
        if parsed is None:
            continue
        text, lang, extra, brand = parsed
        if args.explain:
            why = scorer.explain(text, lang, brand)
            found = {"compound": why.compound, "label": why.label, "confidence": why.confidence}
            print(json.dumps({**extra, "text": text, **found, "why": dict(why.weights), "scorer": why.version}))
            continue
        score = scorer.score(text, lang, brand)
        print(json.dumps({**extra, "text": text, "compound": score.compound, "label": score.label}))
    return 0
