"""User-facing errors: each message says what is wrong and how to fix it.

The CLI prints these without a traceback; anything else is a bug in adray.
"""


class AdrayError(Exception):
    """Base class for errors caused by input the user can fix."""


class DatasetMissingError(AdrayError):
    """A dataset's raw files are not where adray looks for them."""


class MalformedFileError(AdrayError):
    """A raw file exists but cannot be parsed; the message names the file and line."""

    def __init__(self, path, problem: str, line: int | None = None):
        where = f"{path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = path, line, problem


class SettingError(AdrayError):
    """An experimental setting asks for something the dataset cannot provide."""


class UnknownNameError(AdrayError):
    """A name (dataset, method, ...) is not registered; the message lists the valid ones."""


def run_guarded(prog: str, call, interrupted: str = "interrupted") -> int:
    """Run a command's body: an AdrayError becomes one line on stderr and exit code 2 (no traceback,
    unless ADRAY_DEBUG=1), Ctrl-C exit code 130 with ``interrupted`` as the hint."""
    import os
    import sys

    try:
        return call() or 0
    except AdrayError as exc:
        if os.environ.get("ADRAY_DEBUG"):
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
