"""monitor: a self-hosted brand-mention monitor with spike alerts to Slack."""

__version__ = "0.1.0"
