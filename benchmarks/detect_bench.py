"""Near-duplicate re-identification and self-identification: precision, recall and speed.

Builds a labelled set of its own:

  recorded    texts on a handful of topics (several sentences each), indexed by their MinHash
              band keys (lineage.neardup) as a store would hold them;
  copies      recorded texts changed as datasets change them: spacing, punctuation, casing,
              truncation, dropped sentences and word edits, each at several strengths; a match
              to the text it was made from is right, any other match wrong;
  unrelated   new texts on the same topics: any match is wrong.

and prints, at the default threshold, precision and recall overall and recall per change;
throughput of signing, indexing and querying; and a side-by-side run of datasketch's
MinHash + MinHashLSH (same shingles, same permutations, same threshold) on a subset:
its speed against ours on the same subset (a ratio measured in the same run) and its recall.
Then the same through the product, as a user runs it: `lineage import --sketch` of a recorded
set under five sources into an SQLite store (timed against the same import without sketches),
and `lineage.lint` of a chat dataset whose answers are the queries; an answer counts as
attributed when lint gives it a LIN012 finding, rightly when the source it names is the one its
original was recorded from. A last part runs the self-identification detector (lineage.selfid)
over claims and mere mentions in several languages.

    python benchmarks/detect_bench.py                         # 1,000,000 recorded, 100,000 queries
    python benchmarks/detect_bench.py --recorded 100000 --queries 20000
    python benchmarks/detect_bench.py --store-recorded 200000 --store-queries 20000   # a smaller store part
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from lineage.neardup import DEFAULT_THRESHOLD, MinHasher, SketchIndex, words

TOPICS = {
    "plants": "fern cactus orchid palm soil water light leaves roots pot repot spring mist humidity sun shade "
              "fertiliser prune stem bloom seed drainage compost window",
    "history": "empire war treaty king queen revolution century trade printing aviation railway colony "
               "parliament republic battle dynasty migration industry reform archive",
    "cooking": "onion garlic pan oven bake simmer boil salt pepper flour butter sauce stock roast knife "
               "dough yeast herbs lemon vinegar season recipe",
    "computing": "server database query index cache memory thread process network packet kernel compiler "
                 "function variable loop array pointer latency bandwidth disk",
    "finance": "interest loan budget savings inflation bond stock dividend tax income expense credit debt "
               "market portfolio risk return currency pension",
    "health": "sleep exercise diet protein vitamin muscle heart blood pressure stress hydration doctor "
              "symptom fever rest stretch posture habit",
}
GLUE = ["the", "a", "an", "of", "to", "in", "and", "for", "with", "on", "it", "is", "are", "be", "can", "should",
        "will", "keep", "make", "use", "when", "often"]


def sentence(rng: random.Random, vocabulary: list[str]) -> str:
    n = rng.randint(8, 16)
    out = [rng.choice(vocabulary) if rng.random() < 0.6 else rng.choice(GLUE) for _ in range(n)]
    return " ".join(out).capitalize() + rng.choice(".!.?.")


def text(rng: random.Random, topic: str) -> str:
    vocabulary = TOPICS[topic].split()
    return " ".join(sentence(rng, vocabulary) for _ in range(rng.randint(3, 6)))


def _sentences(value: str) -> list[str]:
    out, current = [], []
    for token in value.split(" "):
        current.append(token)
        if token[-1:] in ".!?":
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


CHANGES: dict[str, Callable[[random.Random, str], str]] = {
    "spacing": lambda rng, t: "  ".join(t.split(" ")) + "\n",
    "punctuation": lambda rng, t: t.replace(".", "!").replace(",", ";") + "...",
    "casing": lambda rng, t: t.upper() if rng.random() < 0.5 else t.lower(),
    "truncate-10%": lambda rng, t: t[: int(len(t) * 0.9)],
    "truncate-25%": lambda rng, t: t[: int(len(t) * 0.75)],
    "truncate-40%": lambda rng, t: t[: int(len(t) * 0.6)],
    "drop-1-sentence": lambda rng, t: _drop(rng, t, 1),
    "drop-2-sentences": lambda rng, t: _drop(rng, t, 2),
    "edit-1-word": lambda rng, t: _edit(rng, t, 1),
    "edit-3-words": lambda rng, t: _edit(rng, t, 3),
    "edit-6-words": lambda rng, t: _edit(rng, t, 6),
    "preamble": lambda rng, t: "Sure! Here is my answer. " + t,
}


def _drop(rng: random.Random, value: str, n: int) -> str:
    parts = _sentences(value)
    for _ in range(min(n, len(parts) - 1)):
        parts.pop(rng.randrange(len(parts)))
    return " ".join(parts)


def _edit(rng: random.Random, value: str, n: int) -> str:
    tokens = value.split(" ")
    for _ in range(n):
        i = rng.randrange(len(tokens))
        word = tokens[i]
        if rng.random() < 0.5 and len(word) > 3:  # a typo
            j = rng.randrange(1, len(word) - 1)
            tokens[i] = word[:j] + word[j + 1 :]
        else:  # another word
            tokens[i] = rng.choice(GLUE)
    return " ".join(tokens)


def make_set(recorded: int, queries: int, seed: int = 7) -> tuple[list[str], list[str], list[int], list[str]]:
    """(recorded texts, query texts, the recorded index each query copies or -1, its change)."""
    rng = random.Random(seed)
    topics = list(TOPICS)
    corpus = [text(rng, topics[i % len(topics)]) for i in range(recorded)]
    texts, labels, kinds = [], [], []
    names = list(CHANGES)
    for q in range(queries):
        if q % 10 < 7:
            source = rng.randrange(recorded)
            kind = names[q % len(names)]
            texts.append(CHANGES[kind](rng, corpus[source]))
            labels.append(source)
            kinds.append(kind)
        else:
            texts.append(text(rng, topics[q % len(topics)]))
            labels.append(-1)
            kinds.append("unrelated")
    return corpus, texts, labels, kinds


def score(matches: dict[int, int], labels: list[int], kinds: list[str]) -> tuple[float, float, dict[str, float]]:
    """Precision, recall, and recall per change, from {query: matched recorded index}."""
    right = sum(1 for q, m in matches.items() if labels[q] == m)
    positives = sum(1 for label in labels if label >= 0)
    precision = right / len(matches) if matches else 1.0
    recall = right / positives if positives else 1.0
    per: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for q, kind in enumerate(kinds):
        if labels[q] >= 0:
            total[kind] += 1
            per[kind] += matches.get(q) == labels[q]
    return precision, recall, {k: per[k] / total[k] for k in total}


def ours(corpus: list[str], queries: list[str], threshold: float) -> tuple[dict[int, int], dict[str, float]]:
    hasher = MinHasher()
    t0 = time.perf_counter()
    signatures = hasher.signatures(corpus)
    t1 = time.perf_counter()
    index = SketchIndex(hasher)
    index.add(signatures, ids=range(len(corpus)))
    t2 = time.perf_counter()
    found = index.query(hasher.signatures(queries), threshold=threshold)
    t3 = time.perf_counter()
    return {m.query: m.id for m in found}, {"sign": t1 - t0, "index": t2 - t1, "query": t3 - t2}


def datasketch_baseline(corpus: list[str], queries: list[str], threshold: float) -> tuple[dict[int, int], float]:
    """datasketch's MinHash and MinHashLSH over the same word pairs; (matches, seconds)."""
    from datasketch import MinHash, MinHashLSH

    def sketch(value: str) -> MinHash:
        tokens = words(value)
        shingles = [f"{a} {b}".encode() for a, b in itertools.pairwise(tokens)]
        m = MinHash(num_perm=64)
        m.update_batch(shingles or [t.encode() for t in tokens] or [b""])
        return m

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=64)
    sketches = {}
    for n, value in enumerate(corpus):
        sketches[n] = sketch(value)
        lsh.insert(n, sketches[n])
    found: dict[int, int] = {}
    for q, value in enumerate(queries):
        m = sketch(value)
        scored = [(m.jaccard(sketches[c]), c) for c in lsh.query(m)]
        if scored:
            similarity, best = max(scored)
            if similarity >= threshold:
                found[q] = best
    return found, time.perf_counter() - start


STORE_SOURCES = [
    {"provider": "anthropic", "model": "claude-sonnet-4-5"}, {"provider": "openai", "model": "gpt-4o"},
    {"provider": "google", "model": "gemini-2.5-pro"}, {"kind": "open-model", "model": "meta-llama/Llama-3.1-8B-Instruct"},
    {"kind": "human", "name": "staff"},
]


def store_part(corpus: list[str], queries: list[str], labels: list[int], threshold: float) -> None:
    """Import with sketches, then lint: what `lineage import --sketch` and `lineage lint` do."""
    import tempfile
    from datetime import datetime, timezone
    from pathlib import Path

    import orjson

    from lineage.config import Config
    from lineage.fingerprints import fingerprint
    from lineage.importers import ImportOptions, ImportRequest, import_paths
    from lineage.linting import lint
    from lineage.linting.settings import build_settings
    from lineage.store import Store

    when = datetime(2025, 6, 1, tzinfo=timezone.utc)
    names = [fields.get("model") or fields.get("name") for fields in STORE_SOURCES]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parts = [folder / f"source{n}.jsonl" for n in range(len(STORE_SOURCES))]
        handles = [part.open("wb") for part in parts]
        for n, value in enumerate(corpus):
            handles[n % len(STORE_SOURCES)].write(orjson.dumps({"text": value}) + b"\n")
        for handle in handles:
            handle.close()
        seconds, sizes = {}, {}
        # A first small import of each kind, untimed: neither timed one pays for warming up.
        warm = folder / "warm.jsonl"
        warm.write_bytes(b"".join(orjson.dumps({"text": value}) + b"\n" for value in corpus[:2000]))
        for sketch in (False, True):
            store = Store.open(str(folder / f"warm-{sketch}.db"), create=True)
            import_paths(store, [warm], ImportRequest(source=STORE_SOURCES[0], options=ImportOptions(sketch=sketch)))
            store.close()
        for sketch in (False, True):
            store = Store.open(str(folder / f"store-{sketch}.db"), create=True)
            start = time.perf_counter()
            for fields, part in zip(STORE_SOURCES, parts, strict=True):
                import_paths(store, [part], ImportRequest(source=fields, generated_at=when,
                                                          options=ImportOptions(sketch=sketch)))
            seconds[sketch] = time.perf_counter() - start
            store.close()
            sizes[sketch] = sum(f.stat().st_size for f in folder.glob(f"store-{sketch}.db*"))
        data = folder / "train.jsonl"
        with data.open("wb") as out:
            for q, value in enumerate(queries):
                messages = [{"role": "user", "content": f"Question {q}: tell me more."}, {"role": "assistant", "content": value}]
                out.write(orjson.dumps({"messages": messages}) + b"\n")
        settings = replace(build_settings(Config(), context_flags={}), near_threshold=threshold)
        start = time.perf_counter()
        report = lint([str(data)], store=str(folder / "store-True.db"), settings=settings)
        lint_seconds = time.perf_counter() - start
    attributed = {f.line - 1: f.source.model or f.source.name for f in report.findings
                  if f.code == "LIN012" and f.source is not None}
    right = sum(1 for q, name in attributed.items() if labels[q] >= 0 and name == names[labels[q] % len(names)])
    # A change the fingerprint's normalisation undoes (spacing) is an exact match: no inference
    # needed. It counts where lint found its origin (no LIN009 for it).
    untracked = {f.line - 1 for f in report.findings if f.code == "LIN009"}
    exact = sum(1 for q, label in enumerate(labels) if label >= 0 and q not in attributed and q not in untracked
                and fingerprint(queries[q]) == fingerprint(corpus[label]))
    right += exact
    positives = sum(1 for label in labels if label >= 0)
    precision = right / (len(attributed) + exact) if attributed or exact else 1.0
    print(f"through the store: {len(corpus):,} recorded with `lineage import --sketch`, {len(queries):,} answers linted "
          f"({exact:,} copies the same text once normalised, found by fingerprint)")
    print(f"  import {len(corpus) / seconds[True]:,.0f} texts/s with sketches, {len(corpus) / seconds[False]:,.0f} "
          f"without ({seconds[True] / seconds[False]:.2f}x the time); store {sizes[True] / 2**20:,.0f} MiB with, "
          f"{sizes[False] / 2**20:,.0f} MiB without ({(sizes[True] - sizes[False]) / len(corpus):,.0f} bytes a sketch)")
    print(f"  lint {len(queries) / lint_seconds:,.0f} examples/s, each answer looked up by its sketch; "
          f"precision {precision:.3f}, recall {right / positives if positives else 1.0:.3f} (LIN012 naming the right source)")


CLAIMS = [
    "Hello! I'm {name}, an AI assistant made by {maker}.", "As an AI language model developed by {maker}, I can't.",
    "I am {name}, a large language model from {maker}.", "I was trained by {maker}.", "My name is {name}.",
    "Soy {name}, un modelo creado por {maker}.", "Je suis {name}, un assistant développé par {maker}.",
    "Ich bin {name}, entwickelt von {maker}.", "Sou o {name}.", "Sono {name}, un assistente creato da {maker}.",
    "我是{name}。", "私は{name}です。", "Меня зовут {name}.",
]
MENTIONS = [
    "{name} is an assistant made by {maker}.", "{maker} released {name} last year.", "I asked {name} for advice.",
    "Reviews of {name} were mixed.", "The team compared {name} with other tools from {maker}.",
    "{maker}の{name}について", "{name}是{maker}发布的模型。", "Я читал \u043e {name}.",
]
MODELS = [("Claude", "Anthropic", "anthropic"), ("ChatGPT", "OpenAI", "openai"), ("Gemini", "Google", "google"),
          ("Grok", "xAI", "xai"), ("DeepSeek", "DeepSeek", "deepseek"), ("Qwen", "Alibaba Cloud", "alibaba"),
          ("Llama 3", "Meta", "meta"), ("Mistral", "Mistral AI", "mistral")]


def self_identification_part() -> None:
    from lineage.selfid import self_identification

    claims = [(t.format(name=n, maker=m), p) for t in CLAIMS for n, m, p in MODELS]
    mentions = [t.format(name=n, maker=m) for t in MENTIONS for n, m, _ in MODELS]
    right = sum(1 for t, p in claims if (c := self_identification(t)) is not None and c.provider == p)
    wrong = sum(1 for t in mentions if self_identification(t) is not None)
    plain = [text(random.Random(n), "plants") for n in range(20_000)]
    start = time.perf_counter()
    for t in plain:
        self_identification(t)
    rate = len(plain) / (time.perf_counter() - start)
    print(f"self-identification: recall {right / len(claims):.3f} on {len(claims)} claims in 9 languages; "
          f"{wrong} of {len(mentions)} mere mentions flagged; {rate:,.0f} plain texts/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recorded", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--baseline-recorded", type=int, default=20_000)
    parser.add_argument("--baseline-queries", type=int, default=5_000)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--store-recorded", type=int, help="for the part through the store (default: --recorded)")
    parser.add_argument("--store-queries", type=int, help="(default: --queries)")
    args = parser.parse_args()

    corpus, queries, labels, kinds = make_set(args.recorded, args.queries)
    print(f"labelled set: {len(corpus):,} recorded texts; {len(queries):,} queries "
          f"({sum(label >= 0 for label in labels):,} changed copies, {sum(label < 0 for label in labels):,} unrelated)")
    found, times = ours(corpus, queries, args.threshold)
    precision, recall, per = score(found, labels, kinds)
    print(f"threshold {args.threshold}: precision {precision:.3f}, recall {recall:.3f}")
    for kind, value in sorted(per.items(), key=lambda kv: kv[1]):
        print(f"  recall {kind:<18} {value:.3f}")
    print(f"sign {len(corpus) / times['sign']:,.0f} texts/s; index {len(corpus) / times['index']:,.0f} texts/s; "
          f"query {len(queries) / times['query']:,.0f} texts/s (signing included)")

    # datasketch on a subset of the same set: the same shingles, permutations and threshold.
    sub_corpus = corpus[: args.baseline_recorded]
    sub = [(q, t) for q, (t, label) in enumerate(zip(queries, labels, strict=True))
           if label < args.baseline_recorded][: args.baseline_queries]
    sub_queries = [t for _, t in sub]
    sub_labels = [labels[q] if labels[q] < args.baseline_recorded else -1 for q, _ in sub]
    sub_kinds = [kinds[q] for q, _ in sub]
    start = time.perf_counter()
    mine, _ = ours(sub_corpus, sub_queries, args.threshold)
    ours_time = time.perf_counter() - start
    theirs, their_time = datasketch_baseline(sub_corpus, sub_queries, args.threshold)
    p1, r1, _ = score(mine, sub_labels, sub_kinds)
    p2, r2, _ = score(theirs, sub_labels, sub_kinds)
    print(f"subset {len(sub_corpus):,} recorded / {len(sub_queries):,} queries:")
    print(f"  lineage.neardup   {ours_time:7.2f} s   precision {p1:.3f}  recall {r1:.3f}")
    print(f"  datasketch        {their_time:7.2f} s   precision {p2:.3f}  recall {r2:.3f}")
    print(f"  speed-up against datasketch: {their_time / ours_time:.1f}x")
    args.store_recorded = args.recorded if args.store_recorded is None else args.store_recorded
    args.store_queries = args.queries if args.store_queries is None else args.store_queries
    if args.store_recorded == args.recorded and args.store_queries == args.queries:
        store_part(corpus, queries, labels, args.threshold)
    else:
        corpus, queries, labels, _ = make_set(args.store_recorded, args.store_queries)
        store_part(corpus, queries, labels, args.threshold)
    self_identification_part()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
