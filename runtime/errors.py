"""The one exception type that travels up to the CLI.

Every failure the user can cause or see is raised as ``Error(context, reason)``;
the CLI prints ``runtime: <context>: <reason>`` on one line and exits 1.
Anything else reaching the CLI is a bug and is reported the same way (with a
traceback only under ``--debug``).
"""



class Error(Exception):
    """A failure with the context it happened in, printable on one line."""

    def __init__(self, context: str, reason: object, *, exit_code: int = 1) -> None:
        self.context = context
        self.reason = str(reason)
        self.exit_code = exit_code
        super().__init__(f"{context}: {self.reason}")

    def within(self, context: str) -> "Error":
        """The same failure, seen from an outer context."""
        return Error(f"{context}: {self.context}", self.reason, exit_code=self.exit_code)


def os_reason(exc: OSError) -> str:
    """strerror without Python's '[Errno N]' decoration."""
    return exc.strerror or str(exc)
