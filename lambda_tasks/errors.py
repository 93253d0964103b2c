"""The one exception family: every message is meant for the user.

The first line says what is wrong (under 160 characters); detail and the way out may follow on indented lines.
The tasks print it and exit 1; anything that is not a ``LambdaTasksError`` is a bug.
"""

from __future__ import annotations


class LambdaTasksError(Exception):
    """A problem the user can fix; the message says what is wrong and how to fix it."""


class SettingsError(LambdaTasksError):
    """A setting is unknown or has a bad value."""


class ProjectError(LambdaTasksError):
    """The project's files cannot be built as they are (no app.py, a vendored file that collides, ...)."""


class WheelError(LambdaTasksError):
    """A wheel (vendored, cached or fetched) is damaged, misnamed or built for another target."""


class SecretFileError(LambdaTasksError):
    """The artifacts would carry a file that looks like a secret."""


class ResolveError(LambdaTasksError):
    """A requirement could not be turned into Lambda-compatible wheels."""


class LimitError(LambdaTasksError):
    """An artifact breaks one of Lambda's size limits."""


class AuditError(LambdaTasksError):
    """A file in an artifact cannot load on the target runtime."""


class BytecodeError(LambdaTasksError):
    """No interpreter of the runtime's version, or the app's code does not compile."""


class ManifestError(LambdaTasksError):
    """The build manifest is missing, or an artifact no longer matches it."""


class VerifyError(LambdaTasksError):
    """The handler would not load or run on Lambda."""


class DeployError(LambdaTasksError):
    """A deploy cannot go ahead as configured (no function named, no role for a new function, ...)."""


class AwsError(LambdaTasksError):
    """AWS refused a call; the message says what to do."""
