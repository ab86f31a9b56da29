"""vagent: realtime voice AI agents on structured concurrency."""
