"""Slack: how alert events read and where they go.

Owns rendering (`render`: Block Kit, escaped and within Slack's limits, and console text), the chart
(`chart`), delivery with slack-sdk or to the console (`delivery`), the outbox worker (`outbox`), and the
buttons (`interactions`, carried over `socketmode`). Imports the layers below it: foundation, config,
store and alerts; never the engine or the service.
"""
