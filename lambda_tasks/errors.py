"""The one exception family: every message is meant for the user.

The first line says what is wrong (under 160 characters); detail and the way out may follow on indented lines.
The tasks print it and exit 1; anything that is not a ``LambdaTasksError`` is a bug.
"""

from __future__ import annotations

import errno
import os

#: What Ctrl-C prints (exit code 130), wherever it lands: outputs are only ever replaced whole
INTERRUPTED = ("interrupted: nothing half-written was kept (zips and the manifest are replaced whole); run the "
               "command again to finish")
#: The longest first line of a message: with the "error: " the front ends print before it, under 160 characters.
MAX_FIRST_LINE = 152

class LambdaTasksError(Exception):
    """A problem the user can fix; the message says what is wrong and how to fix it."""


class SettingsError(LambdaTasksError):
    """A setting is unknown or has a bad value."""


class ProjectError(LambdaTasksError):
    """The project's files cannot be built as they are (no app.py, a vendored file that collides, ...)."""


class WheelError(LambdaTasksError):
    """A wheel (vendored, cached or fetched) is damaged, misnamed or built for another target."""


class UnsafePathError(LambdaTasksError):
    """A path would escape its archive (absolute, ``..``, a drive letter or backslash) or appears twice."""


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


class BusyError(LambdaTasksError):
    """Another lambda-tasks command holds the output directory and ``--no-wait`` was given."""


class AwsError(LambdaTasksError):
    """AWS refused a call; the message says what to do."""


class RevisionConflict(AwsError):
    """Another writer changed the function since the revision a write carried (PreconditionFailedException)."""

    def __init__(self, message: str, changed: str = "") -> None:
        super().__init__(message)
        #: what the other writer changed, as far as a read-back tells ("code", "MemorySize", ...)
        self.changed = changed


class RegistryError(LambdaTasksError):
    """A container registry refused a request or answered something we cannot use; the message says what to do."""


class CacheError(LambdaTasksError):
    """The shared build cache (cache_bucket) cannot give the layers and ``cache_required`` is set."""


class DeadlineError(LambdaTasksError):
    """A child process or a network endpoint did not finish or answer in time (``deadlines.py``)."""


class FileSystemError(LambdaTasksError):
    """A file or directory could not be read or written (permissions, a read-only or full disk, a bad name)."""


_OS_ADVICE = {
    "EACCES": "give this user read (and, for outputs, write) permission, or run from a directory it owns",
    "EPERM": "give this user read (and, for outputs, write) permission, or run from a directory it owns",
    "EROFS": "the directory is on a read-only file system: run where dist/ and layers/ can be written "
             "(app_zip and layers_dir settings)",
    "ENOSPC": "the disk is full: free some space (the wheel cache is ~/.cache/lambda-tasks) and run again",
    "EDQUOT": "the disk quota is used up: free some space and run again",
    "ELOOP": "a symbolic link points back at itself: remove or fix the link",
    "ENAMETOOLONG": "a path is too long for this file system: shorten the directory names",
    "EMFILE": "too many open files: raise the limit (ulimit -n) and run again",
}


def file_system_error(exc: OSError | UnicodeError) -> FileSystemError:
    """An OSError (or an undecodable file name) as a short error naming the path and the way out."""
    if isinstance(exc, UnicodeError):
        return FileSystemError("a file name is not valid UTF-8\n"
                               "  rename the file: names in a zip for Lambda must be UTF-8")
    name = errno.errorcode.get(exc.errno or 0, "")
    path = exc.filename if exc.filename is not None else ""
    where = f": {os.fsdecode(path)!r}" if path != "" else ""
    first = f"{exc.strerror or type(exc).__name__}{where}"
    advice = _OS_ADVICE.get(name, "check the path and its permissions, then run again")
    return FileSystemError(f"{first[:150]}\n  {advice}")
