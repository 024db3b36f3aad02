"""Rules: loading and validation, matching, counts and detectors."""

from monitor.rules.load import load_rules
from monitor.rules.model import Rule

__all__ = ["Rule", "load_rules"]
