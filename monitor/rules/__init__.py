"""Rules: rule files and what they decide, as pure functions of counts and `now`.

Owns the rule model and its loading (`model`, `load`: FILE:LINE: key problems), which mentions count
(`match`), minute and hour buckets (`counts`), one detector per kind (`detectors`), tail probabilities
(`stats`) and draft topics (`topics`). Imports the foundation modules, config, sentiment (the language
guess for `languages`) and nothing with state: no store, no sources.
"""

from monitor.rules.load import load_rules
from monitor.rules.model import Rule

__all__ = ["Rule", "load_rules"]
