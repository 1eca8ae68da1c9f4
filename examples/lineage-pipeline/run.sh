#!/usr/bin/env bash
# A three-step pipeline and the report legal reviews.
#
#   claude-answers.jsonl   answers generated with Claude (recorded as they were imported)
#   community-qa.jsonl     a community Q&A dataset published under CC-BY-SA-4.0
#   mixed.jsonl            step 1: three Claude rows mixed with the community rows, and two rows
#                          nobody recorded (they stay untracked in every step after)
#   paraphrased.jsonl      step 2: every answer of the mix paraphrased by a self-hosted Llama 3.1
#
# The store is .lineage/lineage.db in this folder (SQLite). The outputs land in out/.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf .lineage out
mkdir -p out

lineage init
lineage import claude-answers.jsonl --provider anthropic --model claude-sonnet-4-5 --generated-at 2025-10-01
lineage dataset add community-qa.jsonl --license CC-BY-SA-4.0 --origin https://example.org/community-qa

lineage derive mixed.jsonl --from claude-answers.jsonl --from community-qa.jsonl --transform mix
lineage derive paraphrased.jsonl --from mixed.jsonl --transform rewrite \
    --by kind=open-model,model=meta-llama/Llama-3.1-8B-Instruct,license=LicenseRef-llama3.1 \
    --generated-at 2025-11-15

echo
lineage graph paraphrased.jsonl
lineage graph paraphrased.jsonl --format dot > out/lineage.dot

# The report: the paraphrased Claude answers are still bound by Anthropic's terms; the community
# rows bring attribution and share-alike duties. A fixed timestamp makes the report reproducible.
lineage report paraphrased.jsonl --format md -o out/report.md --timestamp 2026-01-01T00:00:00Z
lineage report paraphrased.jsonl --format html -o out/report.html --timestamp 2026-01-01T00:00:00Z
lineage notice paraphrased.jsonl -o out/NOTICE
echo
cat out/NOTICE
echo "Wrote out/report.md, out/report.html, out/NOTICE and out/lineage.dot."

echo
status=0
lineage lint paraphrased.jsonl --statistics || status=$?
echo "lineage lint exited with $status (0: clean, 1: the dataset breaches a rule)."
