"""Alerts: what an incident change says, as a JSON-able event built once and sent from the outbox.

Owns the event and its wording (`events`), what an incident is about (`explain`: distinctive terms,
top mentions), response drafts (`drafts`) and digests (`digests`). Imports the layers below it:
foundation, config, sentiment, store, sources and rules. Nothing here talks to Slack.
"""
