"""Every citation in the bundled pack points at its publisher's own text, and says when and where
that text was last read: a copy read at a third party's address makes its rules of lower confidence."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from lineage.policy.loader import load_pack

# Where each publisher publishes its own terms: a host (and its subdomains), or a code host with
# the publisher's organisation ("github.com/meta-llama"). Nothing else counts as first-party.
PUBLISHER_DOMAINS: dict[str, tuple[str, ...]] = {
    "alibaba": ("qwen.ai", "alibabacloud.com", "aliyun.com", "github.com/QwenLM", "huggingface.co/Qwen"),
    "amazon": ("aws.amazon.com", "amazon.com"),
    "anthropic": ("anthropic.com", "claude.com", "support.claude.com"),
    "baidu": ("baidu.com", "github.com/PaddlePaddle", "huggingface.co/baidu"),
    "bytedance": ("bytedance.com", "github.com/ByteDance-Seed", "huggingface.co/ByteDance-Seed"),
    "cohere": ("cohere.com", "huggingface.co/CohereLabs", "huggingface.co/CohereForAI"),
    "deepseek": ("deepseek.com", "github.com/deepseek-ai", "huggingface.co/deepseek-ai"),
    "google": ("google.dev", "google.com", "github.com/google-deepmind", "huggingface.co/google"),
    "ibm": ("ibm.com", "github.com/ibm-granite", "huggingface.co/ibm-granite"),
    "meta": ("meta.com", "llama.com", "github.com/meta-llama", "huggingface.co/meta-llama"),
    "microsoft": ("microsoft.com", "aka.ms", "huggingface.co/microsoft", "github.com/microsoft"),
    "minimax": ("minimax.io", "minimaxi.com", "github.com/MiniMax-AI", "huggingface.co/MiniMaxAI"),
    "mistral": ("mistral.ai", "huggingface.co/mistralai", "github.com/mistralai"),
    "moonshot": ("kimi.ai", "moonshot.ai", "moonshot.cn", "github.com/MoonshotAI", "huggingface.co/moonshotai"),
    "nvidia": ("nvidia.com", "huggingface.co/nvidia", "github.com/NVIDIA"),
    "openai": ("openai.com", "github.com/openai", "huggingface.co/openai"),
    "openrouter": ("openrouter.ai",),
    "ai2": ("allenai.org", "github.com/allenai", "huggingface.co/allenai"),
    "stability": ("stability.ai", "huggingface.co/stabilityai"),
    "tencent": ("tencent.com", "github.com/Tencent-Hunyuan", "huggingface.co/tencent"),
    "tii": ("tii.ae", "huggingface.co/tiiuae"),
    "xai": ("x.ai", "github.com/xai-org", "huggingface.co/xai-org"),
    "zhipu": ("z.ai", "zhipuai.cn", "bigmodel.cn", "github.com/zai-org", "github.com/THUDM",
              "huggingface.co/zai-org", "huggingface.co/THUDM"),
}
CODE_HOSTS = ("github.com", "huggingface.co", "raw.githubusercontent.com")


ARCHIVE = "https://web.archive.org/web/"


def first_party(url: str, publisher: str) -> bool:
    """Whether `url` is on one of the publisher's own hosts (or its organisation on a code host).
    An archive snapshot of such a page is the publisher's text as it stood that day."""
    if url.startswith(ARCHIVE):
        _, _, url = url[len(ARCHIVE):].partition("/")
    parsed = urlparse(url)
    host = parsed.netloc.lower()
    owner = parsed.path.strip("/").split("/")[0].lower() if parsed.path.strip("/") else ""
    for allowed in PUBLISHER_DOMAINS.get(publisher, ()):
        name, _, org = allowed.partition("/")
        if org:
            if host in (name, f"www.{name}") and owner == org.lower():
                return True
            if name == "github.com" and host == "raw.githubusercontent.com" and owner == org.lower():
                return True
        elif host not in CODE_HOSTS and (host == name or host.endswith("." + name)):
            return True
    return False


def _versions():  # type: ignore[no-untyped-def]
    pack = load_pack()
    for document in pack.documents.values():
        for version in document.versions:
            yield pytest.param(document, version, id=f"{document.id}@{version.version}")


@pytest.mark.parametrize(("document", "version"), list(_versions()))
def test_each_version_cites_its_publisher_and_says_when_it_was_read(document, version) -> None:  # type: ignore[no-untyped-def]
    assert document.publisher in PUBLISHER_DOMAINS, f"{document.id}: publisher {document.publisher} has no allowlist"
    assert first_party(version.url, document.publisher), (
        f"{document.id} {version.version}: {version.url} is not on {document.publisher}'s own domains"
    )
    assert version.read is not None, f"{document.id} {version.version}: say when and where its text was read"
    if not first_party(version.read.at, document.publisher):
        # Read only in a third party's copy: no rule of it may claim high confidence.
        high = [rule.code for rule in version.rules if rule.confidence == "high"]
        assert not high, f"{document.id} {version.version}: read at {version.read.at}, yet {high} say high"


def test_the_allowlist_tells_first_party_from_copies() -> None:
    assert first_party("https://www.anthropic.com/legal/aup", "anthropic")
    assert first_party("https://github.com/meta-llama/llama-models/blob/main/LICENSE", "meta")
    assert first_party("https://raw.githubusercontent.com/QwenLM/Qwen/main/LICENSE", "alibaba")
    assert not first_party("https://github.com/orsonteodoro/oiledmachine-overlay/blob/master/licenses/x", "mistral")
    assert not first_party("https://huggingface.co/someone/Llama-3-copy", "meta")
    assert not first_party("https://anthropic.com.example.org/aup", "anthropic")
    assert first_party("https://web.archive.org/web/20250102/https://x.ai/legal/terms-of-service", "xai")
    assert not first_party("https://web.archive.org/web/2025/https://example.org/x.ai/legal", "xai")
    assert not first_party("https://github.com/loyalagents/loyal-agent-evals/blob/main/docs/terms/x.html", "xai")
