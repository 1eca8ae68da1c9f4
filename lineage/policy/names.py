"""The pack's vocabulary of providers, and the check that a source named by a user uses it.

A misspelt provider (`antrhopic`) would otherwise be recorded as a provider nobody has terms
for, and a model filed under the wrong maker (`--provider openai --model claude-sonnet-4-5`)
would be judged by the wrong terms. Both are refused where they enter: import, derive, explain.
"""

from __future__ import annotations

from lineage.exceptions import UsageError
from lineage.policy.catalogue import Catalogue
from lineage.policy.loader import Pack
from lineage.sources import _MODEL_PREFIXES, infer_provider

ALLOW_FLAG = "--allow-unknown-provider"


def known_providers(pack: Pack) -> frozenset[str]:
    """Every provider the pack (bundled and the user's own files) or the model catalogue names."""
    names = {provider for _, provider in _MODEL_PREFIXES}
    for document in pack.documents.values():
        names.update(document.applies_to.providers or ())
        names.add(document.publisher)
    names.update(entry.provider for entry in pack.models)
    return frozenset(n.lower() for n in names if n)


def check_source_names(
    pack: Pack, *, provider: str | None, model: str | None, where: str = "--provider", allow_unknown: bool = False
) -> None:
    """Refuse a provider the pack does not know (naming the nearest), and a model the catalogue
    or its name assigns to another provider than the one given (naming both)."""
    if allow_unknown or not provider:
        return
    given = provider.strip().lower()
    known = known_providers(pack)
    if given not in known:
        from rapidfuzz import process

        close = [name for name, _, _ in process.extract(given, sorted(known), limit=3, score_cutoff=60)]
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UsageError(
            f"unknown provider {provider!r}", where=where,
            fix=f"{hint}name one the policy pack knows (`lineage policies list`), declare it in a policy file "
            f"of your own, or pass {ALLOW_FLAG} to record it as a provider with no known terms",
        )
    if model:
        entry = Catalogue(pack.models).lookup(model)
        maker = entry.provider if entry is not None else infer_provider(model)
        if maker and maker.lower() != given:
            raise UsageError(
                f"model {model!r} is {maker}'s, not {given}'s", where=where,
                fix=f"pass --provider {maker} (the maker; name the service that served it with --channel), "
                f"or {ALLOW_FLAG} if {given} really made it",
            )
