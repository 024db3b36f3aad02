"""Shared fixtures: the fake servers."""

pytest_plugins = ["tests.fakes.hackernews", "tests.fakes.reddit", "tests.fakes.slack"]
