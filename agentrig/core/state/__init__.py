"""The StateStore protocol and its backends: memory, file, sqlite, redis, postgres."""
