"""The shared core: plant, state, messaging, telemetry, models, runner and report. Never imports a framework."""
