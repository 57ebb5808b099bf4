"""Telemetry: structlog logs, Prometheus metrics, OpenTelemetry traces and trace normalising."""
