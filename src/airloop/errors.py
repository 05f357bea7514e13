"""One exception hierarchy for everything a user can act on.

Each error knows its exit code and prints as a message, never a traceback (click's
``exceptions.py`` does the same). Code that raises one must say what is wrong *and* how to fix it.
"""

from __future__ import annotations


class AirloopError(Exception):
    """Base class: an error the user can act on."""

    exit_code = 1
    title = "error"
    # Retrying helps with a flaky disk or network, never with the same bad spec or data.
    retryable = True

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if retryable is not None:  # this instance differs from its class (a file that vanished mid-read)
            self.retryable = retryable

    def format(self) -> str:
        text = f"{self.title}: {self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class SpecError(AirloopError):
    """airloop.yaml is malformed or inconsistent. Carries every problem found, not just the first."""

    exit_code = 2
    title = "invalid spec"
    retryable = False

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        lines = [p.format() for p in problems]
        super().__init__(f"{len(problems)} problem(s)\n" + "\n".join(lines))

    def format(self) -> str:
        return f"{self.title}: {self.message}"


class UsageError(AirloopError):
    """A command-line option that cannot work (a date that is not one, an empty range)."""

    exit_code = 2
    title = "invalid option"
    retryable = False


class SpecProblem:
    """One problem in a spec, located at ``file:line`` with a fix."""

    def __init__(self, file: str, line: int | None, where: str, message: str, fix: str) -> None:
        self.file, self.line, self.where, self.message, self.fix = file, line, where, message, fix

    def format(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else self.file
        where = f" [{self.where}]" if self.where else ""
        return f"  {loc}{where}: {self.message}\n    fix: {self.fix}"

    def __repr__(self) -> str:
        return f"SpecProblem({self.file}:{self.line} {self.where}: {self.message})"


class DataError(AirloopError):
    """Input data cannot be read: a missing file, an unreadable format, a missing column."""

    exit_code = 3
    title = "data error"
    # the same files give the same error: only a file that vanished while being read is worth a retry
    retryable = False


class UnusableData(DataError):
    """The data can be read but not learned as the spec says: a constant target, three classes for a
    binary task, a positive class that is not among the labels, a time column that does not parse.
    ``where`` is the spec key to fix (data.target, data.positive_class, split.column)."""

    def __init__(self, message: str, *, hint: str | None = None, where: tuple[str, ...] = ("data", "target")):
        super().__init__(message, hint=hint)
        self.where = where


class ContractViolation(AirloopError):
    """A batch breaks the data contract. ``report_path`` holds the full report."""

    exit_code = 4
    title = "data contract violated"
    retryable = False

    def __init__(self, message: str, *, report_path: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.report_path = report_path


class UserCodeError(AirloopError):
    """The user's estimator path or feature transform cannot be imported or raised."""

    exit_code = 5
    title = "user code error"


class RegistryError(AirloopError):
    """The model registry is not in the state an action needs (no champion, no such version)."""

    exit_code = 6
    title = "registry error"


class RunFailed(AirloopError):
    """An Airflow run ended with a failed step."""

    exit_code = 7
    title = "run failed"


class EnvironmentProblem(AirloopError):
    """The workspace or the embedded engines cannot be set up."""

    exit_code = 8
    title = "environment problem"
