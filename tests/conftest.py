"""Shared fixtures: the fake servers."""

pytest_plugins = ["tests.fakes.platforms", "tests.fakes.slack"]
