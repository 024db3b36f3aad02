"""Sentiment: what a mention's words say, as a compound score and a label.

Owns the language gate, VADER (FastVader, exact to the library), the brand-reputation lexicon and the
scorer that combines them with config's thresholds and per-brand overrides. Imports only the config
layer and the foundation modules (clock, durations, errors, mention, textmatch).
"""

from monitor.sentiment.language import guess_language
from monitor.sentiment.scorer import POOL_MIN, Score, Scorer

__all__ = ["POOL_MIN", "Score", "Scorer", "guess_language"]
