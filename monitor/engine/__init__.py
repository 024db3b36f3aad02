"""The engine: what happens to mentions once fetched, on an injected `now`.

Owns the brand filters (`filters`), one poll of one query (`poll`), ingest and the rule tick (`core`:
the one Engine that the daemon drives on the wall clock and backtests on stream time), incident
state (`incidents`), silences and inhibition (`silences`) and replays (`replay`). Imports the layers
below it: foundation, config, sentiment, store, sources, rules, loading and alerts.
"""
