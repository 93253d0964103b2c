"""The one exception family: every message is meant for the user, on one line."""

from __future__ import annotations


class LambdaTasksError(Exception):
    """A problem the user can fix; the message says what is wrong and how to fix it."""


class SettingsError(LambdaTasksError):
    """A setting is unknown or has a bad value."""


class ResolveError(LambdaTasksError):
    """A requirement could not be turned into Lambda-compatible wheels."""


class LimitError(LambdaTasksError):
    """An artifact breaks one of Lambda's size limits."""


class AuditError(LambdaTasksError):
    """A file in an artifact cannot load on the target runtime."""


class AwsError(LambdaTasksError):
    """AWS refused a call; the message says what to do."""
