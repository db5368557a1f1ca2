"""The project's errors: a small hierarchy whose exceptions carry their fields."""

from __future__ import annotations


class KBError(Exception):
    """Base of every error the project raises on purpose.

    Subclasses take their fields as arguments; ``__reduce__`` gives them back so that an error
    raised in a worker process of a parallel load arrives whole in the parent.
    """

    def __reduce__(self) -> tuple[type, tuple[object, ...], dict[str, object]]:
        return (_rebuild, (type(self), str(self)), self.__dict__)


def _rebuild(kind: type[KBError], message: str) -> KBError:
    error = Exception.__new__(kind)
    Exception.__init__(error, message)
    return error


class DateFormatError(KBError, ValueError):
    """A date in a format the project does not read."""

    def __init__(self, found: str, expected: str) -> None:
        self.found = found
        self.expected = expected
        super().__init__(f"found {found!r}, expected {expected}")


class SourceError(KBError):
    """Bad input: names the file, the line (1-based, or None for the whole file) and what was expected."""

    def __init__(self, source: str, line: int | None, expected: str, found: str = "") -> None:
        self.source = source
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{source}:{line}" if line else source
        detail = f"; found {found!r}" if found else ""
        super().__init__(f"{where}: expected {expected}{detail}")


class NotCenteneTemplate(SourceError):
    """The text is not a policy of the Centene clinical-policy template."""


class ChangeDataError(SourceError):
    """A change-data file that is malformed or does not fit the document it is applied to."""


class UnknownPolicy(KBError):
    def __init__(self, policy: str) -> None:
        self.policy = policy
        super().__init__(f"no policy {policy!r} in the knowledge base (see `kb policies`)")


class NoChangeData(KBError):
    def __init__(self, policy: str, folder: str) -> None:
        self.policy = policy
        self.folder = folder
        super().__init__(f"policy {policy} has no change data (expected TOML files in {folder})")


class UnknownVersion(KBError):
    def __init__(self, policy: str, label: str) -> None:
        self.policy = policy
        self.label = label
        super().__init__(f"policy {policy} has no version {label!r}")


class NotAKnowledgeBase(KBError):
    """A ``--db`` file that is not a knowledge base (not SQLite, damaged, or another application's)."""

    def __init__(self, path: str, expected: str, found: str = "") -> None:
        self.path = path
        self.expected = expected
        self.found = found
        super().__init__(f"{path}: expected {expected}" + (f"; found {found}" if found else ""))


class KnowledgeBaseBusy(KBError):
    """Another load held the knowledge base's writer lock for longer than this one would wait."""

    def __init__(self, path: str, holder: str, waited: float) -> None:
        self.path = path
        self.holder = holder
        self.waited = waited
        super().__init__(
            f"{path} is being written by another load: {holder}; waited {waited:g} s. "
            "Try again when it has finished, or wait longer with --wait SECONDS."
        )


class MissingKnowledgeBase(KBError):
    """A read found no knowledge base file: nothing is created, the message says how to build one."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"no knowledge base at {path} (nothing was created): build it with `kb load --db {path}` "
            "followed by the policy files to load (none: the bundled CP.PHAR.359)"
        )


class DuplicateRecord(KBError):
    """Two records of one version with the same key: the second would overwrite the first, so
    the load stops instead, naming the lines of both."""

    def __init__(self, source: str, kind: str, key: str, first: str, second: str) -> None:
        self.source = source
        self.kind = kind
        self.key = key
        self.first = first
        self.second = second
        super().__init__(
            f"{source}: two {kind} records with the key {key!r} in one version (lines {first} and {second}); "
            "expected each record's key to be unique, nothing was stored"
        )
