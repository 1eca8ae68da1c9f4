#!/usr/bin/env bash
# Quickstart: record where every row of train.jsonl came from, ask the store, then lint the dataset.
#
# train.jsonl mixes answers from Claude (Anthropic's Message Batches API), GPT-4o (OpenAI's Batch
# API), a self-hosted Llama 3.1, rows of the Dolly dataset (CC-BY-SA-3.0), answers written by the
# team's own staff, and two rows nobody recorded. The files under lineage/ are what each of those
# left behind; importing them fills the store (.lineage/lineage.db in this folder, SQLite).
set -euo pipefail
cd "$(dirname "$0")"

lineage init

# Provider batch result files name their own model; auto-detected.
lineage import lineage/claude_batch_results.jsonl --generated-at 2025-10-01
lineage import lineage/openai_batch_output.jsonl

# A synthetic-data tool's output, one model name and timestamp per row.
lineage import lineage/llama_outputs.jsonl --kind open-model --license LicenseRef-llama3.1 \
    --model-column model_name --time-column created_at

# A licensed dataset and people's own writing: their prompts are theirs too.
lineage import lineage/dolly_subset.jsonl --kind dataset --name databricks-dolly-15k \
    --license CC-BY-SA-3.0 --all-segments
lineage import lineage/human_written.jsonl --kind human --name support-team --all-segments

echo
lineage sources
echo
lineage show "The capital of Australia is Canberra."
lineage show "Tope"

# The main job: may this commercial fine-tune use every row? Anthropic's terms forbid training on
# Claude outputs, so those rows are blocked (exit code 1); the Dolly rows bring attribution and
# share-alike duties; the two rows nobody recorded are flagged as untracked.
echo
status=0
lineage lint train.jsonl || status=$?
echo
echo "lineage lint exited with $status (0: clean, 1: the dataset breaches a rule)."
