"""The fixed words of the lineage model, kept apart from the modules that use them so that the
CLI can offer them as choices without importing pydantic or SQLAlchemy at start-up."""

from __future__ import annotations

# What produced content.
KINDS: tuple[str, ...] = ("api", "open-model", "dataset", "human", "web", "unknown")
# How a model was reached.
CHANNELS: tuple[str, ...] = (
    "api",
    "batch-api",
    "consumer-app",
    "bedrock",
    "vertex",
    "azure",
    "openrouter",
    "self-hosted",
)
# What `lineage import` can be told a file is.
IMPORT_TYPES: tuple[str, ...] = ("auto", "dataset", "openai-batch", "anthropic-batch", "hf")

# How a derived dataset was made from its inputs (`lineage derive --transform`).
TRANSFORMS = ("mix", "filter", "dedupe", "split", "rewrite")

# The similarity at and above which a completion with no recorded origin takes a recorded
# near-duplicate's (lineage.neardup), unless the configuration says otherwise.
NEAR_DUPLICATE_THRESHOLD = 0.5
