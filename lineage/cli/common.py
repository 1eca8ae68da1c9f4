"""What every command shares: the store option, error reporting, and output helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from lineage.exceptions import LineageError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


class LineageClickError(click.ClickException):
    """A library error shown as `Error: <what>, <where>: <how to fix>` with its exit code."""

    def __init__(self, error: LineageError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code


class LineageGroup(click.Group):
    """The top-level group: turns expected failures into one line and exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # click prints a bad option or argument as three lines (usage, hint, error); the contract
        # is one line, so usage errors are shown here, and everything else as click does.
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `lineage` alone: the help, as click shows it
                exc.show()
                raise SystemExit(exc.exit_code) from None
            command = exc.ctx.command_path if exc.ctx is not None else "lineage"
            click.echo(f"Error: {exc.format_message().rstrip('.')}, {command}: see `{command} --help`", err=True)
            raise SystemExit(exc.exit_code) from None
        except click.ClickException as exc:
            exc.show()
            raise SystemExit(exc.exit_code) from None
        except click.Abort:
            click.echo("Aborted.", err=True)
            raise SystemExit(1) from None
        # Without standalone mode, click returns an Exit's code (from --help or --version).
        raise SystemExit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        from lineage.config import check_timing_variables

        try:
            check_timing_variables()
            return super().invoke(ctx)
        except LineageError as exc:
            raise LineageClickError(exc) from None
        except KeyboardInterrupt:
            # 1 means "the data breaches a rule"; an interrupted run must not look like that.
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(130) from None


def store_option(func: F) -> F:
    return click.option(
        "--store",
        "store",
        metavar="PATH|URL",
        help="Lineage store: an SQLite path or an SQLAlchemy URL (postgresql+psycopg://...). "
        "Default: $LINEAGE_STORE, the `store` setting in pyproject.toml/lineage.toml, "
        "else .lineage/lineage.db in this or a parent folder.",
    )(func)


def source_options(func: F) -> F:
    """--provider, --model, --kind, --channel, --license, --name and --generated-at: one source."""
    from lineage.vocabulary import CHANNELS, KINDS

    options = (
        click.option("--provider", help="Who made the model or ran the API (openai, anthropic, meta, ...)."),
        click.option("--model", help="The model: an API model id or an open-weight model name "
                     "(the provider is inferred from well-known names)."),
        click.option("--kind", type=click.Choice(KINDS), help="api, open-model, dataset, human, web or unknown."),
        click.option("--channel", type=click.Choice(CHANNELS), help="How the model was reached."),
        click.option("--license", "license_", metavar="SPDX",
                     help="Licence of a dataset or of model weights (SPDX expression)."),
        click.option("--name", help="A dataset's name, or a group of people (e.g. annotators)."),
        click.option("--generated-at", metavar="TIME", help="When the content was generated (ISO 8601 date or time, UTC)."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def context_options(func: F) -> F:
    """The use-context flags shared by `explain` and `lint`, and the waivers file."""
    from pathlib import Path

    options = (
        click.option("--purpose", type=click.Choice(["train", "fine-tune", "distill", "evaluate", "retrieval"]),
                     help="What the data is for (default: fine-tune, or the config's)."),
        click.option("--commercial/--non-commercial", default=None,
                     help="Whether the use is commercial (default: commercial)."),
        click.option("--competes-with", multiple=True, metavar="PROVIDER",
                     help="A provider the trained model competes with; '*' for a general-purpose assistant. "
                     "Repeatable."),
        click.option("--base-model", metavar="NAME", help="The model the training starts from."),
        click.option("--distribute-model/--no-distribute-model", default=None,
                     help="Whether the trained model is distributed."),
        click.option("--model-name", metavar="NAME", help="The name the trained model is distributed under."),
        click.option("--model-type", type=click.Choice(["generative", "classifier", "embedding"]),
                     help="What kind of model is trained (not stated unless set: rules that turn on it need review)."),
        click.option("--publish-dataset/--no-publish-dataset", default=None, help="Whether the dataset is published."),
        click.option("--territory", multiple=True, metavar="REGION",
                     help="Where the trained model is made and offered: ISO country codes or eu (eu, uk, kr, us, de, ...). "
                          "Repeatable."),
        click.option("--waivers", "waivers_path", type=click.Path(path_type=Path), help="A waivers file (YAML)."),
        click.option("--today", metavar="DATE", help="Judge waiver expiry as of this date (default: today)."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def context_flags(*, competes_with: tuple[str, ...], territory: tuple[str, ...] = (), **values: Any) -> dict[str, Any]:
    """The use-context flags as keywords for `build_context`; None for those not given."""
    return {**values, "competes_with": list(competes_with) or None, "territory": list(territory) or None}


def parse_today(value: str | None) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today: not a date: {value!r}", fix="use e.g. 2026-03-01") from None


def format_option(*choices: str, default: str = "text") -> Callable[[F], F]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )


def echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def parse_mapping(values: tuple[str, ...], option: str) -> dict[str, str]:
    """`ROLE=FIELD` pairs into a dict."""
    mapping: dict[str, str] = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise UsageError(f"{option} takes ROLE=FIELD, got {value!r}", fix=f"e.g. {option} completion=answer")
        mapping[key.strip()] = target.strip()
    return mapping


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned text table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in [headers, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def allow_unknown_option(func: F) -> F:
    return click.option(
        "--allow-unknown-provider", "allow_unknown", is_flag=True,
        help="Accept a provider the policy pack does not know, or a model its catalogue gives to another "
        "provider (its rows then need review: their terms are unknown).",
    )(func)


def check_names(provider: str | None, model: str | None, *, allow: bool, where: str = "--provider",
                policy_paths: tuple[Any, ...] = ()) -> None:
    """Refuse a misspelt provider or a model filed under another maker (lineage.policy.names)."""
    if allow or not provider:
        return
    from lineage.policy.names import check_source_names

    check_source_names(_pack(policy_paths), provider=provider, model=model, where=where)


def source_checker(*, allow: bool, policy_paths: tuple[Any, ...] = ()) -> Callable[[Any, str], None] | None:
    """`check_names` for the sources records name themselves (a provider or model column, a
    batch's responses), for `ImportOptions.check_source`; None with the flag."""
    if allow:
        return None
    from lineage.policy.names import NameCheck, check_source_names

    names = NameCheck(_pack(policy_paths))

    def check(spec: Any, where: str) -> None:
        check_source_names(names, provider=spec.provider, model=spec.model, where=where)

    return check


def _pack(policy_paths: tuple[Any, ...]) -> Any:
    from lineage.config import find_config
    from lineage.policy import load_pack

    return load_pack(find_config().resolved_list("policies") + [str(p) for p in policy_paths])
