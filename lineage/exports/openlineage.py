"""OpenLineage 2-0-2 run events for a lint of a dataset, with the lineage in a custom facet.

A lint is a run of the job `tos-lineage/<dataset>`: its inputs are the dataset's sources (an API
model under its provider's API namespace, an open model or dataset under `hf://`, people and other
sources under `lineage://`), its output the dataset file with its sha256 as version and the
`tosLint_provenance` facet: the use context, the verdict counts, and per source its examples,
licence, terms versions in force, verdict and rule codes. The facet's JSON schema is
`schemas/facets/1-0-0/TosLintProvenanceDatasetFacet.json`, published at the tag that first
shipped it, as the OpenLineage spec asks of custom facets.

Events are built with the `openlineage-python` client and either written as JSON lines or sent
with its HTTP transport (to Marquez or any OpenLineage endpoint).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, job_type_job
from openlineage.client.generated.base import DatasetFacet
from openlineage.client.serde import Serde

from lineage import __version__
from lineage.exceptions import UsageError

if TYPE_CHECKING:
    from lineage.report.model import Report, SourceUse

PRODUCER = f"https://github.com/tos-lineage/tos-lineage/tree/v{__version__}"
FACET_KEY = "tosLint_provenance"
FACET_SCHEMA_URL = (
    "https://raw.githubusercontent.com/tos-lineage/tos-lineage/v0.1.0/schemas/facets/1-0-0/"
    "TosLintProvenanceDatasetFacet.json#/$defs/TosLintProvenanceDatasetFacet"
)
DEFAULT_NAMESPACE = "tos-lineage"
# Where each provider's API lives: the namespace of its models as inputs.
PROVIDER_APIS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com",
    "google": "https://generativelanguage.googleapis.com",
    "mistral": "https://api.mistral.ai",
    "xai": "https://api.x.ai",
    "deepseek": "https://api.deepseek.com",
    "cohere": "https://api.cohere.com",
    "moonshot": "https://api.moonshot.ai",
}


@attr.define
class TosLintProvenanceDatasetFacet(DatasetFacet):
    """Where the rows of a dataset came from and what the terms of each source say of its use."""

    toolVersion: str
    reportVersion: str
    useContext: dict[str, Any]
    summary: dict[str, int]
    sources: list[dict[str, Any]]
    policyPackSha256: str | None = None
    policyPackVersion: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL


def source_dataset(use: SourceUse) -> tuple[str, str]:
    """The (namespace, name) of a source as an OpenLineage input dataset."""
    source = use.evaluation.source
    if source.kind == "api":
        namespace = PROVIDER_APIS.get(source.provider or "", f"lineage://providers/{source.provider or 'unknown'}")
        return namespace, source.model or source.name or "unknown"
    if source.kind == "open-model":
        return "hf://models", source.model or source.name or "unknown"
    if source.kind == "dataset" and source.name and "/" in source.name:
        return "hf://datasets", source.name
    return f"lineage://{source.kind}", source.name or source.label()


def provenance_facet(report: Report) -> TosLintProvenanceDatasetFacet:
    """The custom facet for a lint report."""
    from lineage.report.model import REPORT_VERSION

    summary = report.summary()
    sources = []
    for use in report.sources:
        evaluation = use.evaluation
        sources.append({
            "source": evaluation.source.model_dump(exclude_none=True),
            "label": evaluation.source.label(),
            "examples": use.examples,
            "segments": use.segments,
            "license": evaluation.license,
            "verdict": use.verdict,
            "terms": [{"document": d, "version": v, "url": _terms_url(report, d, v)} for d, v in evaluation.terms],
            "findings": sorted({f.code for f in use.findings}),
            "obligations": sorted({o.type for o in evaluation.obligations}),
            "waivers": sorted({w.waiver.id for w in evaluation.waivers_applied}),
        })
    return TosLintProvenanceDatasetFacet(
        toolVersion=__version__,
        reportVersion=REPORT_VERSION,
        useContext=report.use_context,
        summary={k: summary[k] for k in ("examples", "blocked", "needs_review", "allowed", "allowed_with_obligations",
                                          "untracked", "errors", "warnings")},
        sources=sources,
        policyPackSha256=report.policy_pack.get("sha256"),
        policyPackVersion=report.policy_pack.get("version") or None,
        producer=PRODUCER,
    )


def _terms_url(report: Report, document_id: str, version: str) -> str | None:
    pack = report.pack
    if pack is None or document_id not in pack.documents:
        return None
    return next((v.url for v in pack.documents[document_id].versions if v.version == version), None)


def run_events(
    report: Report, paths: list[str], *, namespace: str = DEFAULT_NAMESPACE, job_name: str | None = None,
    timestamp: str | None = None, started: str | None = None,
) -> list[RunEvent]:
    """A START (at `started`, else `timestamp`) and a COMPLETE event (at `timestamp`, else now)
    for the lint of `paths` that made `report`."""
    from lineage.readers import expand_paths, file_sha256
    from lineage.report.legal import report_timestamp

    files = [Path(p) for p in expand_paths(paths)]
    hashes = [file_sha256(f) for f in files]
    import orjson

    stamp = report_timestamp(timestamp)
    start = started or stamp
    name = job_name or (f"lint {files[0].parent.resolve().name}" if files else "lint")
    # The same job over the same data, use and policies at the same moment is the same run; any
    # other is a new one.
    seed = orjson.dumps([PRODUCER, namespace, name, hashes, report.use_context, report.policy_pack.get("sha256"),
                         start, stamp], option=orjson.OPT_SORT_KEYS)
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seed.decode()))
    job = Job(namespace=namespace, name=name, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="TOS_LINEAGE", jobType="LINT",
                                                producer=PRODUCER),
    })
    inputs = []
    seen: set[tuple[str, str]] = set()
    for use in report.sources:
        key = source_dataset(use)
        if key not in seen:
            seen.add(key)
            inputs.append(InputDataset(namespace=key[0], name=key[1]))
    facet = provenance_facet(report)
    outputs = [
        OutputDataset(namespace="file", name=str(f.resolve()), facets={
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=h, producer=PRODUCER),
            FACET_KEY: facet,
        })
        for f, h in zip(files, hashes, strict=True)
    ]
    run = Run(runId=run_id)
    return [
        RunEvent(eventType=state, eventTime=when, run=run, job=job, inputs=inputs,
                 outputs=outputs if state == RunState.COMPLETE else [], producer=PRODUCER)
        for state, when in ((RunState.START, start), (RunState.COMPLETE, stamp))
    ]


def to_json_lines(events: list[RunEvent]) -> str:
    return "".join(Serde.to_json(event) + "\n" for event in events)


def send(events: list[RunEvent], url: str, *, endpoint: str = "api/v1/lineage", api_key: str | None = None,
         timeout: float = 10.0) -> None:
    """POST the events to an OpenLineage endpoint with the client's HTTP transport."""
    from openlineage.client.transport.http import (
        ApiKeyTokenProvider,
        HttpConfig,
        HttpTransport,
        TokenProvider,
    )

    auth = ApiKeyTokenProvider({"apiKey": api_key}) if api_key else TokenProvider({})
    # A few quick retries, not the client's default backoff: a CI step should fail fast.
    config = HttpConfig(url=url, endpoint=endpoint, timeout=timeout, auth=auth,
                        retry={"total": 2, "backoff_factor": 0.2, "status_forcelist": [502, 503, 504],
                               "allowed_methods": ["POST"]})
    transport = HttpTransport(config)
    for event in events:
        try:
            transport.emit(event)
        except Exception as exc:  # requests' errors: refused, timed out, an HTTP error status
            reason = redact(" ".join(str(exc).split())[:200])
            raise UsageError(f"cannot send the OpenLineage events to {redact(url)} ({reason})",
                             fix="check --url, the endpoint and --api-key") from None


def redact(text: str) -> str:
    """`text` with the user and password of any URL in it left out."""
    import re

    return re.sub(r"(https?://)[^/\s@]+@", r"\1", text)
