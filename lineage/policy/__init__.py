"""The policy engine: provider terms and licences as executable, cited rules.

    from lineage.policy import Evaluator, UseContext, load_pack
    evaluator = Evaluator(load_pack(), UseContext(purpose="fine-tune", commercial=True))
    result = evaluator.evaluate(SourceSpec.build(provider="anthropic", model="claude-sonnet-4-5"), when)
    result.verdict, result.findings, result.obligations
"""

from lineage.policy.context import UseContext, build_context
from lineage.policy.engine import Citation, Evaluation, Evaluator, Finding, Obligation
from lineage.policy.loader import Pack, load_file, load_pack
from lineage.policy.waivers import Waiver, load_waivers

__all__ = [
    "Citation",
    "Evaluation",
    "Evaluator",
    "Finding",
    "Obligation",
    "Pack",
    "UseContext",
    "Waiver",
    "build_context",
    "load_file",
    "load_pack",
    "load_waivers",
]
