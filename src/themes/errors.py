"""Exceptions that carry a message fit to show a user as one line."""

from __future__ import annotations


class ThemesError(Exception):
    """A user-facing problem: bad input, missing file, invalid option.

    The CLI prints ``str(error)`` as one line and exits non-zero, without a traceback. The message
    should name the file or option at fault and say what to do.
    """


class InputFileError(ThemesError):
    """A problem with one input file; the loader records it as a row of the errors table."""

    def __init__(self, source_file: str, error_type: str, message: str):
        self.source_file = source_file
        self.error_type = error_type
        self.message = message
        super().__init__(f"{source_file}: {message}")
