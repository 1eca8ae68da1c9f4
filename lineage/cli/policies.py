"""`lineage policies` (list, show, validate) and `lineage explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lineage.cli.common import (
    allow_unknown_option,
    check_names,
    context_flags,
    context_options,
    echo_json,
    format_option,
    parse_today,
    source_options,
    table,
)
from lineage.exceptions import UsageError


def policy_option(func: Any) -> Any:
    return click.option(
        "--policy",
        "policy_paths",
        multiple=True,
        type=click.Path(path_type=Path),
        help="An extra policy file or folder (repeatable); adds to the `policies` setting.",
    )(func)


def _pack(policy_paths: tuple[Path, ...]) -> Any:
    from lineage.config import find_config
    from lineage.policy import load_pack

    return load_pack([*find_config().resolved_list("policies"), *policy_paths])


@click.group()
def policies() -> None:
    """The policy pack: list its rules, show one with its citations, validate a policy file."""


@policies.command(name="list")
@policy_option
@format_option("text", "json")
def list_(policy_paths: tuple[Path, ...], output_format: str) -> None:
    """List every rule code with its document, effect and the versions it appears in."""
    pack = _pack(policy_paths)
    rows = []
    for code in sorted(pack.codes):
        found = pack.rules(code)
        document, _, rule = found[-1]
        rows.append({
            "code": code,
            "document": document.title,
            "publisher": document.publisher,
            "effect": rule.effect,
            "severity": rule.effective_severity,
            "versions": [version for _, version, _ in found],
        })
    if output_format == "json":
        echo_json({"pack_version": pack.version, "pack_sha256": pack.sha256, "rules": rows, "licenses": sorted(pack.licenses)})
        return
    click.echo(table(
        [[r["code"], r["effect"], r["severity"], r["document"], ", ".join(r["versions"])] for r in rows],
        ["code", "effect", "severity", "document", "versions"],
    ))
    click.echo(f"\n{len(rows)} rules in {len(pack.documents)} documents; {len(pack.licenses)} licences; "
               f"{len(pack.models)} catalogue entries")


@policies.command()
@click.argument("code")
@policy_option
@format_option("text", "json")
def show(code: str, policy_paths: tuple[Path, ...], output_format: str) -> None:
    """Show a rule (ANT001): what it says, when it applies, and its citation in every version; or a
    document (anthropic-usage-policy): its versions, when each took effect, and when and where its
    text was last read."""
    from lineage.policy.engine import ENGINE_CODES, LICENSE_TERM_CODES, LICENSE_TERM_TEXT

    pack = _pack(policy_paths)
    document = pack.documents.get(code) or pack.documents.get(code.lower())
    if document is not None:
        _show_document(document, pack, output_format)
        return
    code = code.upper()
    found = pack.rules(code)
    if not found:
        if code in ENGINE_CODES:
            severity, text = ENGINE_CODES[code]
            _emit_simple(code, severity, text, output_format)
            return
        if code in LICENSE_TERM_CODES.values():
            licenses = [
                lid for lid, d in sorted(pack.licenses.items())
                if any(LICENSE_TERM_CODES[t] == code for t in d.terms)
            ]
            _emit_simple(code, "varies", LICENSE_TERM_TEXT[code], output_format, licenses=licenses)
            return
        raise UsageError(f"no rule {code}", fix="see `lineage policies list`")
    versions = []
    for document, version, rule in found:
        url = next(v.url for v in document.versions if v.version == version)
        versions.append({
            "version": version,
            "effect": rule.effect,
            "severity": rule.effective_severity,
            "when": _conditions(rule.when_any),
            "unless": _conditions(rule.unless_any),
            "message": rule.message,
            "obligation": rule.obligation.model_dump(exclude_none=True) if rule.obligation else None,
            "citation": {"document": document.title, "version": version, "section": rule.section,
                         "url": url, "quote": rule.quote},
            "confidence": rule.confidence,
        })
    document = found[-1][0]
    if output_format == "json":
        echo_json({"code": code, "document": document.id, "title": document.title, "versions": versions})
        return
    click.echo(f"{code}  {document.title} ({document.publisher})")
    for item in versions:
        cite = item["citation"]
        click.echo(f"\n  version {item['version']}: {item['effect']} ({item['severity']}, {item['confidence']} confidence)")
        if item["when"]:
            click.echo(f"    when:   {item['when']}")
        if item["unless"]:
            click.echo(f"    unless: {item['unless']}")
        click.echo(f"    {item['message']}")
        click.echo(f"    {cite['section']}: \"{cite['quote']}\"")
        click.echo(f"    {cite['url']}")


def _show_document(document: Any, pack: Any, output_format: str) -> None:
    """A document's record: each version's dates, its own URL, where its text was read, its rules."""
    versions = [{
        "version": v.version,
        "effective": v.effective.isoformat(),
        "url": v.url,
        "read": {"on": v.read.on.isoformat(), "at": v.read.at} if v.read else None,
        "note": v.note,
        "rules": [{"code": r.code, "effect": r.effect, "section": r.section, "quote": r.quote,
                   "confidence": r.confidence} for r in v.rules],
    } for v in sorted(document.versions, key=lambda v: v.effective)]
    if output_format == "json":
        echo_json({"document": document.id, "title": document.title, "publisher": document.publisher,
                   "kind": document.kind, "pack_version": pack.version, "versions": versions})
        return
    click.echo(f"{document.id}  {document.title} ({document.publisher}, {document.kind})")
    for item in versions:
        click.echo(f"\n  version {item['version']}, in force from {item['effective']}")
        click.echo(f"    {item['url']}")
        read = item["read"]
        click.echo(f"    text last read {read['on']} at {read['at']}" if read else "    text last read: not recorded")
        if item["note"]:
            click.echo(f"    note: {item['note']}")
        for rule in item["rules"]:
            click.echo(f"    {rule['code']} {rule['effect']} ({rule['confidence']}), {rule['section']}: "
                       f"\"{rule['quote']}\"")


def _conditions(conditions: list[Any]) -> list[dict[str, Any]]:
    return [c.model_dump(exclude_none=True) for c in conditions if c.model_dump(exclude_none=True)]


def _emit_simple(code: str, severity: str, text: str, output_format: str, **extra: Any) -> None:
    if output_format == "json":
        echo_json({"code": code, "severity": severity, "message": text, **extra})
    else:
        click.echo(f"{code} ({severity}): {text}")
        for key, value in extra.items():
            click.echo(f"  {key}: {', '.join(value) or '-'}")


@policies.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check policy files (with the bundled pack, so clashing ids and codes are caught too)."""
    pack = _pack(paths)
    click.echo(f"OK: {len(paths)} path(s) valid; the pack now has {len(pack.codes)} rules, "
               f"{len(pack.licenses)} licences, {len(pack.models)} catalogue entries")


@click.command()
@source_options
@context_options
@policy_option
@format_option("text", "json")
@allow_unknown_option
def explain(
    provider: str | None, model: str | None, kind: str | None, channel: str | None, license_: str | None,
    name: str | None, generated_at: str | None, purpose: str | None, commercial: bool | None,
    competes_with: tuple[str, ...], base_model: str | None, distribute_model: bool | None, model_name: str | None,
    model_type: str | None, publish_dataset: bool | None, territory: tuple[str, ...], waivers_path: Path | None, today: str | None,
    policy_paths: tuple[Path, ...], output_format: str, allow_unknown: bool,
) -> None:
    """May we train on outputs of this source? Evaluates one source without a dataset.

    \b
    Examples:
      lineage explain --provider anthropic --model claude-sonnet-4-5 --generated-at 2026-03-01
      lineage explain --kind open-model --model Llama-3.1-8B-Instruct --distribute-model --model-name acme-7b
      lineage explain --kind dataset --name dolly --license CC-BY-SA-3.0 --non-commercial

    Exits 1 when the use is blocked, or needs review because the pack cannot determine the
    source's terms (unless `unknown_terms = "warn"`).
    """
    from lineage.config import find_config
    from lineage.licenses import normalise_license
    from lineage.policy import Evaluator, build_context, load_waivers
    from lineage.sources import SourceSpec
    from lineage.timeutil import parse_time

    config = find_config()
    check_names(provider, model, allow=allow_unknown, policy_paths=policy_paths)
    source = SourceSpec.build(
        kind=kind, provider=provider, model=model, channel=channel,
        license=normalise_license(license_) if license_ else None, name=name or (kind if kind == "human" else None),
    )
    context = build_context(config, **context_flags(
        purpose=purpose, commercial=commercial, competes_with=competes_with, base_model=base_model,
        distribute_model=distribute_model, model_name=model_name, publish_dataset=publish_dataset,
        model_type=model_type, territory=territory,
    ))
    waivers_file = waivers_path or config.resolved("waivers")
    waivers = load_waivers(waivers_file) if waivers_file else []
    try:
        when = parse_time(generated_at) if generated_at else None
    except ValueError as exc:
        raise UsageError(f"invalid date: {exc}", where="--generated-at", fix="use e.g. 2026-03-01") from None
    as_of = parse_today(today)
    unknown_terms = config.get("unknown_terms", "error")
    if config.get("strict", False) is True:
        unknown_terms = "error"
    evaluator = Evaluator(_pack(policy_paths), context, waivers, today=as_of, unknown_terms=unknown_terms)
    result = evaluator.evaluate(source, when)
    unused = evaluator.unused_waivers()
    pack = evaluator.pack
    data = {**result.to_dict(), "use_context": context.to_dict(),
            "generated_at": when.isoformat() if when else None,
            "policy_pack": {"version": pack.version, "sha256": pack.sha256}}
    data["findings"] += [f.to_dict() for f in unused]
    if output_format == "json":
        echo_json(data)
    else:
        _print_explanation(data)
    # Terms nobody could determine fail as a breach does, unless `unknown_terms = "warn"`.
    if result.verdict == "blocked" or (result.verdict == "needs-review" and result.errors):
        raise SystemExit(1)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _print_explanation(data: dict[str, Any]) -> None:
    source = data["source"]
    label = "/".join(p for p in (source["provider"], source["model"]) if p) or source["name"] or (
        "a dataset" if source["kind"] == "dataset" else "?")
    parts = [source["kind"]]
    if source["channel"] and source["channel"] != source["kind"]:
        parts.append(source["channel"])
    if data["license"]:
        parts.append(data["license"])
    click.echo(f"{label} ({', '.join(parts)})")
    context = data["use_context"]
    from lineage.policy.context import UNSTATED_FIELDS

    stated = [f"{k}={_plain(v) if v != [] else 'nobody'}" for k, v in context.items() if v is not None]
    click.echo("use: " + ", ".join(stated))
    unstated = [k for k in UNSTATED_FIELDS if context.get(k) is None]
    if unstated:
        click.echo("not stated: " + ", ".join(unstated))
    pack = data["policy_pack"]
    click.echo(f"policy pack: {pack['version'] or 'your files alone'} (sha256 {pack['sha256'][:12]})")
    if data["terms"]:
        click.echo("terms applied: " + "; ".join(f"{t['document']} {t['version']}" for t in data["terms"]))
    click.echo(f"\nverdict: {data['verdict']}")
    for finding in data["findings"]:
        click.echo(f"\n  {finding['code']} [{finding['severity']}] {finding['message']}")
        cite = finding["citation"]
        if cite:
            click.echo(f"    {cite['document']} {cite['version']}, {cite['section']}: \"{cite['quote']}\"")
            click.echo(f"    {cite['url']}")
    if data["obligations"]:
        click.echo("\nobligations:")
        for item in data["obligations"]:
            text = f" \"{item['text']}\"" if item["text"] else ""
            click.echo(f"  {item['code']} {item['type']}{text}: {item['message']}")
    for applied in data["waivers_applied"]:
        click.echo(f"\nwaiver {applied['id']} lifts {applied['code']}: approved by {applied['approved_by']}, "
                   f"{applied['reference']}, expires {applied['expires'] or 'never'}")
