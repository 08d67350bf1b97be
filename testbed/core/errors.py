"""Errors raised before any transmission starts: each names the problem and the fix."""


class TestbedError(Exception):
    """Base class of every error testbed raises on purpose."""


class ConfigError(TestbedError, ValueError):
    """A configuration value is invalid (unknown plugin, negative CBR, missing executable...)."""


class DatasetError(TestbedError):
    """One or more images cannot be read; the message lists every bad file."""
