"""The team server: an HTTP API over the runtime, its tokens and sessions, and the run files it serves."""
