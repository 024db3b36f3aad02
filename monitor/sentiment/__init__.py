"""Sentiment: what a mention's words say, as a compound score and a label.

Owns language identification, VADER (FastVader, exact to the library), the brand-reputation lexicon,
the learned model over them (model.py, weights in model.npz) and the scorer that combines them with
config's settings and per-brand overrides, explains its scores and names its version. Imports only the config
layer and the foundation modules (clock, durations, errors, mention, textmatch).
"""

from monitor.sentiment.language import guess_language
from monitor.sentiment.pool import POOL_MIN
from monitor.sentiment.scorer import Explanation, Score, Scorer

__all__ = ["POOL_MIN", "Explanation", "Score", "Scorer", "guess_language"]
