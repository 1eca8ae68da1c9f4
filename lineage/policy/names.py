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


class NameCheck:
    """The pack's providers and model catalogue, to check many names against (built once)."""

    def __init__(self, pack: Pack, catalogue: Catalogue | None = None) -> None:
        self.known = known_providers(pack)
        self.catalogue = catalogue if catalogue is not None else Catalogue(pack.models)

    def problem(self, provider: str | None, model: str | None) -> tuple[str, str] | None:
        """(what is wrong, how to fix it) for a provider the pack does not know or a model its
        catalogue or name gives to another maker; None when the names agree."""
        if not provider:
            return None
        given = provider.strip().lower()
        if given not in self.known:
            from rapidfuzz import process

            close = [name for name, _, _ in process.extract(given, sorted(self.known), limit=3, score_cutoff=60)]
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            return (f"unknown provider {provider!r}",
                    f"{hint}name one the policy pack knows (`lineage policies list`), or declare it in a policy "
                    "file of your own")
        if model:
            entry = self.catalogue.lookup(model)
            maker = entry.provider if entry is not None else infer_provider(model)
            if maker and maker.lower() != given:
                return (f"model {model!r} is {maker}'s, not {given}'s",
                        f"name {maker} as the provider (the maker; the service that served it is the channel)")
        return None


def check_source_names(
    pack: Pack | NameCheck, *, provider: str | None, model: str | None, where: str = "--provider",
    allow_unknown: bool = False,
) -> None:
    """Refuse a provider the pack does not know (naming the nearest), and a model the catalogue
    or its name assigns to another provider than the one given (naming both)."""
    if allow_unknown or not provider:
        return
    check = pack if isinstance(pack, NameCheck) else NameCheck(pack)
    found = check.problem(provider, model)
    if found is not None:
        what, fix = found
        raise UsageError(what, where=where, fix=f"{fix}, or pass {ALLOW_FLAG} if the names are right")
