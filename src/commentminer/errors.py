"""One exception tree. Every message says what is wrong, where, and (when there is one) the fix.

The CLI prints `str(error)` on one line and exits non-zero; no traceback for these.
"""

from __future__ import annotations


class CommentminerError(Exception):
    """Base class for errors a user can act on."""

    exit_code = 1


class ConfigError(CommentminerError):
    """The configuration file or an override is invalid."""

    exit_code = 2


class InputError(CommentminerError):
    """An input file or URL cannot be read or parsed."""

    def __init__(self, location: str, problem: str, reason: str = "bad_input"):
        self.location = location
        self.problem = problem
        self.reason = reason
        super().__init__(f"{location}: {problem}")


class ModelMissingError(CommentminerError):
    """A local model folder is missing or incomplete."""

    exit_code = 3


class StoreError(CommentminerError):
    """The DuckDB store cannot be opened or is missing what a command needs."""


class BackendError(CommentminerError):
    """A backend name is unknown or a backend failed to load."""
