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

# ISO 3166-1 alpha-2 country codes (as assigned; the UK is "gb", which is also written "uk").
COUNTRIES = frozenset("""
ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs
bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee
eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm
hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc
li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na
nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw
sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to
tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
""".split())  # noqa: SIM905
# The European Union's member states: a country among them is in the "eu" the licences name.
EU_MEMBERS = frozenset("at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se".split())  # noqa: SIM905


def region_code(value: str) -> str:
    """A region as rules and use contexts name it: an ISO 3166-1 alpha-2 country code or "eu", in
    lower case ("gb" and "uk" are both "uk"). Anything else raises ValueError naming the fix."""
    code = value.strip().lower()
    if code == "gb":
        return "uk"
    if code in COUNTRIES or code in ("eu", "uk"):
        return code
    raise ValueError(f"unknown territory {value.strip()!r} (regions are ISO 3166-1 alpha-2 codes, or eu)")
