"""Fake platform and Slack servers on loopback, speaking each API's documented shape."""
