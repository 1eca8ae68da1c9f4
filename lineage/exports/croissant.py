"""Croissant 1.1 (MLCommons) metadata for a dataset, with its lineage as PROV-O and RAI fields.

The file Hugging Face and other registries serve for a dataset, with what this project knows
added: which models generated which rows (`prov:wasGeneratedBy`, `prov:wasAttributedTo`, a model
acting on behalf of its provider), which datasets rows were taken from (`prov:wasDerivedFrom`),
the terms documents in force (`usageInfo`), and the RAI collection and use fields.

    doc = croissant(report, ["data/train.jsonl"], name="Mixed answers", timestamp="2026-01-01T00:00:00Z")
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.exceptions import UsageError

if TYPE_CHECKING:
    from lineage.report.model import Report, SourceUse

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
# The Croissant 1.1 context, as the specification gives it, with PROV-O beside it.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "prov": "http://www.w3.org/ns/prov#",
}
_MEDIA_TYPES = {
    "jsonl": "application/jsonlines", "json": "application/json", "csv": "text/csv",
    "parquet": "application/x-parquet", "arrow": "application/vnd.apache.arrow.file",
    "hf-disk": "application/vnd.apache.arrow.file",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def license_url(license_id: str) -> str:
    """The URL Croissant recommends for a licence: its SPDX page, else the id itself."""
    if license_id.startswith("LicenseRef-"):
        return license_id
    return f"https://spdx.org/licenses/{license_id}.html"


def croissant(
    report: Report, paths: list[str], *, name: str | None = None, description: str | None = None,
    url: str | None = None, creator: str | None = None, license: str | None = None,
    timestamp: str | None = None, version: str = "1.0.0", cite_as: str | None = None,
) -> dict[str, Any]:
    """The Croissant JSON-LD document of the dataset a lint `report` judged."""
    from lineage.licenses import license_alternatives, normalise_license
    from lineage.publication import carried_licences
    from lineage.readers import expand_paths, file_sha256
    from lineage.report.legal import report_timestamp

    files = [Path(p) for p in expand_paths(paths)]
    title = name or (files[0].parent.resolve().name if files else "dataset")
    stamp = report_timestamp(timestamp)
    licences = [c.id for c in carried_licences(report)]
    if license:
        extra = normalise_license(license)
        if extra is None or " OR " in extra:
            raise UsageError(f"--license {license!r} is not one licence, nor several joined with AND",
                             fix="name the licence it is published under, e.g. CC-BY-4.0")
        licences += [i for i in sorted(license_alternatives(extra)[0]) if i not in licences]
    if not licences:
        raise UsageError("no source of this dataset records a licence, and Croissant requires one",
                         fix="name the licence it is published under with --license (an SPDX id)")
    uses = [u for u in report.sources if u.examples]
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": title,
        "description": description or _description(report, title),
        "url": url or (files[0].parent.resolve().as_uri() if files else "file:///"),
        "license": [license_url(i) for i in licences],
        "creator": {"@type": "sc:Organization", "name": creator or "unknown"},
        "datePublished": stamp[:10],
        "citeAs": cite_as or f"{creator or 'unknown'}. {title}, version {version} ({stamp[:4]}).",
        "version": version,
        "keywords": sorted({"lineage", *(["synthetic"] if _generated(uses) else [])}),
        "distribution": [_file_object(f, report.formats.get(str(f)) or _format(f), file_sha256(f)) for f in files],
    }
    generated = [u for u in uses if u.evaluation.source.kind in ("api", "open-model")]
    derived = [u for u in uses if u.evaluation.source.kind == "dataset"]
    if generated:
        document["prov:wasGeneratedBy"] = [_generation(u, n) for n, u in enumerate(generated, 1)]
    document["prov:wasAttributedTo"] = [_agent(u) for u in uses]
    if derived:
        document["prov:wasDerivedFrom"] = [_source_dataset(u) for u in derived]
    terms = _terms(report)
    if terms:
        document["usageInfo"] = terms
    document.update(_rai(report, uses))
    return document


def _description(report: Report, title: str) -> str:
    return (f"{title}: {report.examples} examples; lineage recorded per segment and checked by tos-lineage "
            "against the terms of every source.")


def _generated(uses: list[SourceUse]) -> bool:
    return any(u.evaluation.source.kind in ("api", "open-model") for u in uses)


def _format(path: Path) -> str:
    from lineage.readers import detect_format

    return detect_format(path)


def _file_object(path: Path, fmt: str, sha256: str) -> dict[str, Any]:
    return {
        "@type": "cr:FileObject",
        "@id": _UNSAFE.sub("-", path.name),
        "name": path.name,
        "contentUrl": path.name,
        "encodingFormat": _MEDIA_TYPES.get(fmt, "application/octet-stream"),
        "sha256": sha256,
    }


def _id(kind: str, text: str) -> str:
    return f"#{kind}-{_UNSAFE.sub('-', text).strip('-').lower()}"


def _agent(use: SourceUse) -> dict[str, Any]:
    source = use.evaluation.source
    if source.kind in ("api", "open-model"):
        agent: dict[str, Any] = {
            "@type": "prov:SoftwareAgent",
            "@id": _id("model", f"{source.provider or ''}-{source.model or source.name}"),
            "name": source.model or source.name,
        }
        if source.provider:
            agent["prov:actedOnBehalfOf"] = {"@type": "prov:Organization", "@id": _id("provider", source.provider),
                                             "name": source.provider}
        return agent
    kind = "prov:Person" if source.kind == "human" else "prov:Organization"
    return {"@type": kind, "@id": _id(source.kind, source.name or source.label()), "name": source.name or source.label()}


def _generation(use: SourceUse, n: int) -> dict[str, Any]:
    source = use.evaluation.source
    activity: dict[str, Any] = {
        "@type": "prov:Activity",
        "@id": f"#generation-{n}",
        "name": f"generation by {source.model or source.name} ({source.channel or source.kind})",
        "prov:wasAssociatedWith": {"@id": _agent(use)["@id"]},
        "description": f"{use.examples} examples ({use.segments} segments) hold output of {source.label()}",
    }
    if use.first_day:
        activity["prov:startedAtTime"] = use.first_day.isoformat()
    if use.last_day:
        activity["prov:endedAtTime"] = use.last_day.isoformat()
    return activity


def _source_dataset(use: SourceUse) -> dict[str, Any]:
    source = use.evaluation.source
    entity: dict[str, Any] = {
        "@type": "prov:Entity",
        "@id": _id("dataset", source.name or source.label()),
        "name": source.name or source.label(),
    }
    if use.evaluation.license:
        from lineage.licenses import license_alternatives

        ids = sorted(set().union(*license_alternatives(use.evaluation.license)))
        entity["license"] = [license_url(i) for i in ids]
    return entity


def _terms(report: Report) -> list[dict[str, Any]]:
    """Each terms document version in force, once, as a CreativeWork."""
    pack = report.pack
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for use in report.sources:
        for document_id, version in use.evaluation.terms:
            if (document_id, version) in seen or pack is None or document_id not in pack.documents:
                continue
            document = pack.documents[document_id]
            found = next((v for v in document.versions if v.version == version), None)
            seen[(document_id, version)] = {
                "@type": "sc:CreativeWork",
                "name": f"{document.title} ({version})",
                "url": found.url if found else None,
                "version": version,
                "publisher": document.publisher,
            }
    return list(seen.values())


def _rai(report: Report, uses: list[SourceUse]) -> dict[str, Any]:
    kinds = {u.evaluation.source.kind for u in uses}
    types = []
    if kinds & {"api", "open-model"}:
        types.append("Synthetic data")
    if "human" in kinds:
        types.append("Manual Human Curated")
    if kinds & {"dataset", "web"}:
        types.append("Secondary Data Analysis")
    days = sorted({d for u in uses for d in (u.first_day, u.last_day) if d})
    collection = "; ".join(f"{u.examples} examples from {u.evaluation.source.label()}" for u in uses)
    untracked = report.verdicts.get("untracked", 0)
    if untracked:
        collection += f"; {untracked} examples of unrecorded origin"
    context = ", ".join(f"{k}={v}" for k, v in sorted(report.use_context.items()) if v not in (None, [], ""))
    limitations = [o["message"] for o in report.obligations()]
    limitations += [f"{code}: {info.description}" for code, info in sorted(report.rules.items())
                    if report.code_severity.get(code) == "error"]
    fields: dict[str, Any] = {
        "rai:dataCollection": collection or "no recorded sources",
        "rai:dataCollectionType": types or ["Others"],
        "rai:dataUseCases": f"Checked by tos-lineage for this use: {context}. Verdict: "
                            f"{report.verdicts.get('blocked', 0)} of {report.examples} examples blocked.",
        "rai:dataLimitations": " ".join(limitations) or "No limitations recorded by the terms of its sources.",
    }
    if days:
        fields["rai:dataCollectionTimeframe"] = [days[0].isoformat(), days[-1].isoformat()]
    return fields
