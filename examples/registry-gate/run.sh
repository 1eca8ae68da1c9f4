#!/usr/bin/env bash
# A registry's pre-publication check, then the same check through the gate service.
#
#   claude-answers.jsonl     history summaries generated with Claude (recorded as imported)
#   nc-plant-answers.jsonl   plant-care answers from a community dataset under CC-BY-NC-4.0
#   dataset/                 the dataset to publish: train.jsonl and its card, README.md, which
#                            claims `license: mit`
#
# Work happens on a copy in out/, so the example can be run again. The store is .lineage/ here.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf .lineage out
mkdir -p out
cp -r dataset out/dataset

lineage init
lineage import claude-answers.jsonl --provider anthropic --model claude-sonnet-4-5 --generated-at 2025-10-01
lineage import nc-plant-answers.jsonl --kind dataset --name community-plants --license CC-BY-NC-4.0

echo "== 1. The gate, as the registry's CI runs it before publishing"
status=0
lineage gate out/dataset || status=$?
echo "lineage gate exited with $status (the card claims MIT over CC-BY-NC rows; Claude's terms forbid the training use)"

echo
echo "== 2. The card, rewritten from the lineage"
lineage card out/dataset
lineage card out/dataset --check

echo
echo "== 3. The gate for the release as it is meant: non-commercial, with Anthropic's authorisation"
lineage gate out/dataset --non-commercial --waivers waivers.yaml --statistics
lineage export croissant out/dataset -o out/croissant.json --creator "Example registry" \
    --timestamp 2026-01-01T00:00:00Z

echo
echo "== 4. The same check through the gate service"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export LINEAGE_SERVE_TOKEN=example-token-change-me
lineage serve --port "$port" --waivers waivers.yaml 2> out/serve.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
python3 - "$port" "$server" <<'PY'
import json, os, sys, time, urllib.error, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(600):
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=1)
        break
    except OSError:
        try:
            os.kill(int(sys.argv[2]), 0)  # still starting, not gone
        except OSError:
            sys.exit("lineage serve stopped: " + open("out/serve.log").read())
        time.sleep(0.1)
else:
    sys.exit("lineage serve did not answer within 60 s: " + open("out/serve.log").read())
rows = [json.loads(line) for line in open("out/dataset/train.jsonl")]
card = open("out/dataset/README.md").read()
for use in ({"commercial": True}, {"commercial": False}):
    body = json.dumps({"records": rows, "card": card, "context": use}).encode()
    request = urllib.request.Request(f"{base}/v1/check", data=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer example-token-change-me"})
    answer = json.load(urllib.request.urlopen(request))
    codes = answer["report"]["summary"]["findings_by_code"]
    print(f"service: commercial={use['commercial']}: {answer['verdict']} {codes}")
PY
