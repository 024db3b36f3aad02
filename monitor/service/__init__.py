"""The service: the daemon that runs everything below it.

Owns the daemon's lifecycle (`daemon`: start, signals, bounded shutdown), its reload (`reload`: all or
nothing, listeners included, sources' state and schedules kept), its jobs (`jobs`) and listeners
(`listeners`: ingest, Socket Mode), what it is built from (`wiring`), bounded HTTP listeners
(`listen`), health (`health`) and metrics (`metrics`), sd_notify (`systemd`), the file watch (`watch`),
the ingest endpoint (`ingest_endpoint`), sharding (`shard`) and logging (`logs`: redaction, rate
limits). Imports every layer below it; only `demo` and `commands` import it.
"""
