"""The service: the daemon that runs everything below it.

Owns the daemon's lifecycle (`daemon`: start, signals, reload all or nothing, bounded shutdown), what
it is built from (`wiring`), health and metrics (`health`), sd_notify (`systemd`), the file watch
(`watch`), the ingest endpoint (`ingest_endpoint`), sharding (`shard`) and logging (`logs`). Imports
every layer below it; only `demo` and `commands` import it.
"""
