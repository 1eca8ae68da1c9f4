"""Provider self-identification: text in which a model names itself or its maker.

"I'm Claude, made by Anthropic", "As an AI language model developed by OpenAI", "Soy Gemini, un
modelo de Google", "我是通义千问": a weak signal that a text is, or descends from, a provider's
output. Weak, because open models distilled from API outputs say the same things: a match
points to the content's lineage, not to who generated the row, and never blocks on its own.

A claim needs a self-reference ("I am", "my name is", "I was trained by", "as an AI model
developed by", in English, Spanish, French, German, Portuguese, Italian, Chinese, Japanese and
Russian) next to a name or maker: a text *about* Claude or OpenAI is not one.

    claim = self_identification("Hello! I'm Claude, an AI assistant made by Anthropic.")
    claim.provider, claim.phrase   # ("anthropic", "I'm Claude")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Names a model calls itself, and makers it names, with the provider each points to. Longer
# spellings first: the alternation takes the first that matches.
NAMES: dict[str, tuple[str, ...]] = {
    "anthropic": ("claude",),
    "openai": ("chatgpt", r"gpt-?[345](?:\.5)?(?:o|-turbo)?"),
    "google": ("gemini", "bard", "palm 2"),
    "meta": ("meta ai", r"llama(?: ?\d(?:\.\d)?)?"),
    "mistral": ("le chat", "mistral"),
    "xai": ("grok",),
    "deepseek": ("deepseek",),
    "alibaba": ("tongyi qianwen", "qwen", "通义千问", "千问"),
    "moonshot": ("kimi",),
    "zhipu": ("chatglm", "智谱清言"),
    "baidu": ("ernie bot", "ernie", "文心一言"),
    "cohere": ("command r",),
}
MAKERS: dict[str, tuple[str, ...]] = {
    "anthropic": ("anthropic",),
    "openai": ("openai", "open ai"),
    "google": ("google deepmind", "google", "deepmind"),
    "meta": ("meta ai", "meta", "facebook"),
    "mistral": ("mistral ai", "mistral"),
    "xai": ("xai", r"x\.ai"),
    "deepseek": ("deepseek",),
    "alibaba": ("alibaba cloud", "alibaba", "阿里云", "阿里巴巴"),
    "moonshot": ("moonshot ai", "moonshot", "月之暗面"),
    "zhipu": ("zhipu ai", "zhipu", "智谱"),
    "baidu": ("baidu", "百度"),
    "cohere": ("cohere",),
}
PROVIDER_NAMES = {
    "anthropic": "Anthropic", "openai": "OpenAI", "google": "Google", "meta": "Meta", "mistral": "Mistral AI",
    "xai": "xAI", "deepseek": "DeepSeek", "alibaba": "Alibaba", "moonshot": "Moonshot AI", "zhipu": "Zhipu AI",
    "baidu": "Baidu", "cohere": "Cohere",
}

# "I am <name>" in each language.
_I_AM = (
    r"i am|i'm|i\u2019m|my name is|you can call me|"  # en
    r"soy|me llamo|yo soy|"  # es
    r"je suis|je m'appelle|je m\u2019appelle|"  # fr
    r"ich bin|ich heiße|mein name ist|"  # de
    r"eu sou o|eu sou a|sou o|sou a|meu nome é|"  # pt
    r"io sono|sono|mi chiamo|"  # it
    r"я|меня зовут"  # ru
)
# "... made by <maker>" after a self-reference, in each language.
_SELF = (
    r"\b(?:i am|i'm|i\u2019m|i was|as an ai|as a (?:large )?language model|as an ai (?:language )?model|"
    r"soy|fui|como (?:un )?modelo|je suis|j'ai été|j\u2019ai été|en tant que|ich bin|ich wurde|als (?:ki|ein)|"
    r"eu sou|fui|sono|sono stato|sono stata|я|меня)\b"
)
_BY = (
    r"(?:made|created|developed|built|trained|designed|provided|brought to you)\s+by|"
    r"(?:language model|ai model|ai assistant|assistant|model) from|"
    r"(?:creado|desarrollado|entrenado|hecho|diseñado)\s+por|(?:modelo|asistente) de|"
    r"(?:créé|développé|entraîné|conçu)e?\s+par|"
    r"(?:entwickelt|erstellt|trainiert|gebaut)\s+von|(?:sprachmodell|modell|assistent) von|"
    r"(?:criado|desenvolvido|treinado)a?\s+pel[oa]|"
    r"(?:creato|sviluppato|addestrato)a?\s+da|"
    r"(?:разработан|создан|обучен)\w*\s+(?:компанией\s+)?"
)


@dataclass(frozen=True)
class Claim:
    """A text's claim to come from a provider's model."""

    provider: str
    # The words that make the claim, as written.
    phrase: str

    @property
    def provider_name(self) -> str:
        return PROVIDER_NAMES.get(self.provider, self.provider)


def _alternation(table: dict[str, tuple[str, ...]]) -> str:
    return "|".join(f"(?P<{p}>{'|'.join(spellings)})" for p, spellings in table.items())


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    names, makers = _alternation(NAMES), _alternation(MAKERS)
    flags = re.IGNORECASE
    return (
        # "I'm Claude", "Soy Gemini", "ich bin ChatGPT"
        re.compile(rf"(?<![\w'\u2019])(?:{_I_AM})(?:\s*[,:—-])?\s+(?:{names})(?![\w'\u2019])", flags),
        # "I was trained by Google", "as an AI language model developed by OpenAI"
        re.compile(rf"{_SELF}(?![^.!?\n]{{0,20}}\b(?:not|no|nicht|pas|non|не)\b)[^.!?\n]{{0,80}}?\b(?:{_BY})\s+"
                   rf"(?:the\s+)?(?:{makers})(?![\w])", flags),
        # 我是Claude / 我是通义千问 / 私はClaudeです
        re.compile(rf"(?:我是|我叫|私は)\s*(?:{names})", flags),
        # 由Anthropic开发 / 由阿里云训练 / Anthropicによって開発
        re.compile(rf"(?:我是|我由)[^。\uff01\uff1f\n]{{0,30}}?(?:{makers})[^。\uff01\uff1f\n]{{0,6}}?(?:开发|训练|创建|打造|研发)", flags),
        re.compile(rf"私は[^。\n]{{0,30}}?(?:{makers})\s*(?:によって|が)(?:開発|作成|トレーニング|訓練)", flags),
    )


@lru_cache(maxsize=1)
def keyword_pattern() -> str:
    """A pattern any claim matches (names and makers alone), for a fast first pass over many
    texts with RE2 (pyarrow.compute), used case-blind. RE2's case folding does not take dotted
    and dotless I for i as Python's re does: those letters are spelled out (no spelling has an
    `i` inside pattern syntax)."""
    words = {w for table in (NAMES, MAKERS) for spellings in table.values() for w in spellings}
    return "|".join(sorted(words, key=len, reverse=True)).replace("i", "[i\u0130\u0131]")


# Letters re.IGNORECASE takes for i and s where str.lower() does not (dotted and dotless I, long s).
_AS_IGNORECASE = {0x130: "i", 0x131: "i", 0x17F: "s"}


def _literal_prefix(spelling: str) -> str:
    """The lower-case text every match of a spelling starts with: up to its first pattern
    syntax, less a last character a quantifier makes optional ("gpt" of `gpt-?[345]`)."""
    out: list[str] = []
    i = 0
    while i < len(spelling):
        char = spelling[i]
        if char == "\\" and i + 1 < len(spelling) and not spelling[i + 1].isalnum():
            out.append(spelling[i + 1])  # an escaped character stands for itself
            i += 2
            continue
        if char in "?*{":
            out = out[:-1]
            break
        if char in "[](){}|.^$\\+":
            break
        out.append(char)
        i += 1
    return "".join(out).lower()


@lru_cache(maxsize=1)
def _keywords() -> tuple[str, ...]:
    """Texts every claim holds, one at least (its name or maker): a text with none of them
    cannot make a claim. Looked for with `in` in the lower-cased text, a tenth of the cost of
    one case-blind alternation of them all in Python's re. One that holds another is left out."""
    found = {_literal_prefix(s) for table in (NAMES, MAKERS) for spellings in table.values() for s in spellings}
    return tuple(sorted(k for k in found if not any(o != k and o in k for o in found)))


@lru_cache(maxsize=1)
def _self_words() -> re.Pattern[str]:
    """Any word a self-reference starts with: texts that name a provider but have none (a plant
    guide that mentions palms) skip the full patterns."""
    english = r"\b(?:i|i'm|i\u2019m|my|you can call me|this is|as an? |as a)\b"
    others = (r"\b(?:soy|me llamo|fui|como|je|j'ai|j\u2019ai|en tant que|ich|mein|als|eu|sou|meu|io|sono|mi chiamo|"
              r"я|меня)\b|我是|我叫|我由|由|私は|によって|が開発")
    return re.compile(f"{english}|{others}", re.IGNORECASE)


def compile_patterns() -> None:
    """Compile the patterns now rather than at the first text: a parallel lint does it once,
    before it forks its workers."""
    _keywords()
    _self_words()
    _patterns()


def self_identification(text: str) -> Claim | None:
    """The first claim in `text` to be a named provider's model, or None."""
    lowered = text.lower() if text.isascii() else text.translate(_AS_IGNORECASE).lower()
    if not any(keyword in lowered for keyword in _keywords()) or not _self_words().search(text):
        return None
    best: tuple[int, Claim] | None = None
    for pattern in _patterns():
        match = pattern.search(text)
        if match is None:
            continue
        provider = next(name for name, value in match.groupdict().items() if value)
        if best is None or match.start() < best[0]:
            best = (match.start(), Claim(provider, " ".join(match.group(0).split())))
    return best[1] if best else None
