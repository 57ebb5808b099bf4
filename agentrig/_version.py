"""The version of agentrig, read by the build backend and by ``agentrig --version``."""

__version__ = "0.1.0"
