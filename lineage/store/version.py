"""The store's schema version, and the check every way of opening a store makes."""

from __future__ import annotations

from lineage.exceptions import SchemaVersionError

# Bump when a table or column changes; a store written by another version is refused with a clear
# message rather than read wrongly.
SCHEMA_VERSION = 3
# Older versions a store may be upgraded from in place (see Store.open); readers accept them as they are.
UPGRADABLE = (1, 2)


def check_schema_version(value: str | None, where: str, *, upgradable: bool = True) -> int:
    """The store's version (from lineage_meta), if this tool can read it (this tool's version, or
    with `upgradable` one in UPGRADABLE); otherwise raise SchemaVersionError."""
    try:
        found = int(value) if value is not None else None
    except ValueError:
        found = None
    if found == SCHEMA_VERSION or (upgradable and found in UPGRADABLE):
        return found  # type: ignore[return-value]
    if found is None:
        raise SchemaVersionError(
            f"the store has no valid schema version (found {value!r})",
            where=where,
            fix="point --store at a store made by `lineage init`",
        )
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the store has schema version {found}, newer than this tool's ({SCHEMA_VERSION})",
            where=where,
            fix="upgrade tos-lineage",
        )
    raise SchemaVersionError(
        f"the store has schema version {found}, older than this tool's ({SCHEMA_VERSION})",
        where=where,
        fix="re-create it with `lineage init` and re-import, or use the tos-lineage release that wrote it",
    )
