"""Every error the library raises on purpose.

Each carries what went wrong, where, and how to fix it, so that the CLI can print one line
(`Error: <what>, <where>: <how to fix>`) and exit 2 without a traceback.
"""

from __future__ import annotations


class LineageError(Exception):
    """Base class: an expected failure with a message a user can act on."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.what
        if self.where:
            text += f", {self.where}"
        if self.fix:
            text += f": {self.fix}"
        return text


class UsageError(LineageError):
    """The caller asked for something that cannot be done as asked."""


class ConfigError(LineageError):
    """A configuration file or value is invalid."""


class InputError(LineageError):
    """An input file is missing, unreadable or malformed."""


class LayoutError(InputError):
    """A record's layout could not be recognised or does not match the mapping given."""


class StoreError(LineageError):
    """The lineage store cannot be opened, read or written."""


class StoreNotFoundError(StoreError):
    """No lineage store at the place looked at."""


class SchemaVersionError(StoreError):
    """The store was written by another version of the schema."""


class StoreLockedError(StoreError):
    """Another process held the store's write lock for longer than we were willing to wait."""


class HubError(LineageError):
    """The Hugging Face Hub could not be reached, or refused a request."""


class PublicationRefused(LineageError):
    """The publication gate failed, so nothing was uploaded; `report` says why."""

    exit_code = 1

    def __init__(self, report: object, where: str | None = None) -> None:
        self.report = report
        super().__init__("the publication gate failed, so nothing was uploaded", where=where,
                         fix="fix the findings (`lineage gate` lists them) and push again")
