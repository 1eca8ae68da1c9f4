"""Segments: the text fields of a training example, each with its role.

Lineage is recorded per segment, because in one example the prompt may be human-written and the
answer a model's output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.fingerprints import fingerprint

# Roles whose text a model (or a dataset's author) produced: what an import attributes to the source.
COMPLETION_ROLES = frozenset(
    {"assistant", "tool_call", "reasoning", "completion", "output", "chosen", "rejected", "text"}
)
# Roles that carry what was asked: attributed only when the user names a prompt source.
PROMPT_ROLES = frozenset({"system", "user", "tool", "prompt", "instruction", "input"})
ROLES = COMPLETION_ROLES | PROMPT_ROLES


@dataclass(frozen=True, slots=True)
class Segment:
    role: str
    text: str
    # Where the text sits in the record, e.g. "messages[2].content" or "output".
    field: str

    @property
    def side(self) -> str:
        return "completion" if self.role in COMPLETION_ROLES else "prompt"

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.text)


def extract_segments(
    record: Mapping[str, Any],
    *,
    layout: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> list[Segment]:
    raise NotImplementedError
