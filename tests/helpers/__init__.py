"""Helpers the tests share: clocks, the daemon under test, alert events. Fakes of the platforms and
of Slack live in tests/fakes/, the fault harness in tests/faults/."""
