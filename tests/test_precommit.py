"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real `pre-commit` client and `git commit`.

The hook repository is a snapshot of this checkout's working tree (uncommitted and untracked files
included) committed into a temporary git repository, so the tests check the code as it is on
disk, and pre-commit builds the hook's virtualenv once for the module (a shared PRE_COMMIT_HOME).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import STATED_FACTS, chat, run_cli, write_jsonl

ROOT = Path(__file__).resolve().parents[1]

# One group, so that one test process builds the hooks' environment (hook_repo) for all of them.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pre-commit")]

if shutil.which("git") is None:
    pytest.skip("the pre-commit tests need git", allow_module_level=True)
try:
    import pre_commit  # noqa: F401
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the pre-commit tests need the pre-commit client (pip install pre-commit)",
                allow_module_level=True)

CLAUDE_ANSWER = "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen."
GPT_ANSWER = "The boiling point of water at sea level is 100 degrees Celsius."
STAFF_ANSWER = "Our support desk is open from 9 to 5 on weekdays."
UNTRACKED_ANSWER = "Nobody recorded where this answer came from."

PER_FILE = "lineage lint (changed dataset files)"
PROJECT = "lineage lint (the project's datasets)"

_SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".ci-venv", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".lineage",
    "*.egg-info", "dist", "build", "*.db", "*.db-wal", "*.db-shm",
)


@dataclass(frozen=True)
class HookRepo:
    path: Path
    rev: str
    env: dict[str, str]  # for git and pre-commit: a fixed git identity, the shared PRE_COMMIT_HOME


def _run(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}")
    return result


def _git(repo: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["git", *args], repo, env, check=check)


def _pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "pre_commit", *args], repo, env, check=False)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookRepo]:
    base = tmp_path_factory.mktemp("pre-commit")
    gitconfig = base / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    # Nothing from the caller's git or pre-commit set-up (a hook running pytest sets GIT_DIR and
    # GIT_INDEX_FILE; a global config may sign commits or install hooks on init).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "PRE_COMMIT", "LINEAGE_")) and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        PRE_COMMIT_HOME=str(base / "cache"),
        PRE_COMMIT_COLOR="never",
    )
    path = base / "tos-lineage"
    shutil.copytree(ROOT, path, ignore=_SNAPSHOT_IGNORE)
    assert (path / ".pre-commit-hooks.yaml").is_file()
    _git(path, env, "init", "-q")
    _git(path, env, "add", "-A")
    _git(path, env, "commit", "-q", "-m", "snapshot of the working tree")
    rev = _git(path, env, "rev-parse", "HEAD").stdout.strip()
    yield HookRepo(path, rev, env)


class Project:
    """A git repository with a lineage store, its pre-commit hooks installed."""

    def __init__(self, path: Path, hooks: HookRepo) -> None:
        self.path = path
        self.env = hooks.env

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _git(self.path, self.env, *args, check=check)

    def commit(self, message: str, *files: str) -> subprocess.CompletedProcess[str]:
        self.git("add", "--", *files)
        return self.git("commit", "-m", message, check=False)

    def commits(self) -> list[str]:
        return self.git("log", "--format=%s").stdout.splitlines()


def _make_project(tmp_path: Path, hooks: HookRepo, hook_ids: list[str], tool_lineage: str = "") -> Project:
    repo = tmp_path / "project"
    repo.mkdir()
    project = Project(repo, hooks)
    project.git("init", "-q")

    # The store, outside git (.gitignore), filled from files that are not part of the project.
    run_cli("init", cwd=repo, check=True)
    sources = tmp_path / "generated"
    write_jsonl(sources / "claude.jsonl", [chat("What does photosynthesis do?", CLAUDE_ANSWER)])
    write_jsonl(sources / "gpt.jsonl", [chat("When does water boil?", GPT_ANSWER)])
    write_jsonl(sources / "staff.jsonl", [chat("When are you open?", STAFF_ANSWER)])
    run_cli("import", str(sources / "claude.jsonl"), "--provider", "anthropic", "--model", "claude-sonnet-4-5",
            "--generated-at", "2025-06-01", cwd=repo, check=True)
    run_cli("import", str(sources / "gpt.jsonl"), "--provider", "openai", "--model", "gpt-4o",
            "--generated-at", "2025-06-01", cwd=repo, check=True)
    run_cli("import", str(sources / "staff.jsonl"), "--kind", "human", "--name", "staff", "--all-segments",
            cwd=repo, check=True)
    assert (repo / ".lineage" / "lineage.db").is_file()

    (repo / ".gitignore").write_text(".lineage/\n")
    (repo / "pyproject.toml").write_text(f'[project]\nname = "acme-data"\nversion = "0"\n\n[tool.lineage]\n{STATED_FACTS}{tool_lineage}')
    (repo / "README.md").write_text("# Acme fine-tuning data\n")
    files = [".gitignore", "pyproject.toml", "README.md"]
    if hook_ids:
        # What a user writes, with the snapshot for the GitHub URL and its commit for the tag.
        hook_list = "".join(f"      - id: {hook_id}\n" for hook_id in hook_ids)
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {hooks.path.as_posix()}\n    rev: {hooks.rev}\n    hooks:\n{hook_list}"
        )
        files.append(".pre-commit-config.yaml")
        installed = _pre_commit(repo, project.env, "install")
        assert installed.returncode == 0, installed.stdout
        assert (repo / ".git" / "hooks" / "pre-commit").is_file()
    project.git("add", *files)
    project.git("commit", "-q", "--no-verify", "-m", "set-up")
    return project


def test_commit_of_claude_outputs_is_rejected_and_a_clean_commit_accepted(tmp_path: Path, hook_repo: HookRepo) -> None:
    project = _make_project(tmp_path, hook_repo, ["lineage-lint"])
    data = project.path / "data"

    # Line 2 is Claude's answer: Anthropic's terms forbid training on it (ANT001).
    write_jsonl(data / "train.jsonl", [chat("When are you open?", STAFF_ANSWER),
                                       chat("What does photosynthesis do?", CLAUDE_ANSWER)])
    # Enough other files that pre-commit would split them across processes (at least 4 a batch)
    # if the hook did not ask for one.
    others = [f"data/more-{n}.jsonl" for n in range(5)]
    for other in others:
        write_jsonl(project.path / other, [chat("When does water boil?", GPT_ANSWER)])
    rejected = project.commit("add Claude outputs", "data/train.jsonl", *others)
    assert rejected.returncode != 0, rejected.stdout
    assert f"{PER_FILE}." in rejected.stdout and "Failed" in rejected.stdout, rejected.stdout
    assert "- hook id: lineage-lint\n- exit code: 1" in rejected.stdout, rejected.stdout
    assert "data/train.jsonl:2: ANT001 [error]" in rejected.stdout, rejected.stdout
    assert "data/train.jsonl:1:" not in rejected.stdout, rejected.stdout
    # All the files in one `lineage lint` process (require_serial): one report, one summary.
    assert rejected.stdout.count(" file(s): ") == 1, rejected.stdout
    assert "7 examples in 6 file(s): 1 blocked" in rejected.stdout, rejected.stdout
    assert project.commits() == ["set-up"]

    # The same files without Claude's answer; an answer nobody recorded is a warning, not a block.
    write_jsonl(data / "train.jsonl", [chat("When are you open?", STAFF_ANSWER),
                                       chat("Anything else?", UNTRACKED_ANSWER)])
    accepted = project.commit("add clean data", "data/train.jsonl", *others)
    assert accepted.returncode == 0, accepted.stdout
    assert f"{PER_FILE}." in accepted.stdout and "Passed" in accepted.stdout, accepted.stdout
    assert project.commits() == ["add clean data", "set-up"]
    assert project.git("show", "--name-only", "--format=", "HEAD").stdout.split() == [*others, "data/train.jsonl"]

    # Files that are not datasets do not run the hook.
    (project.path / "README.md").write_text("# Acme fine-tuning data\n\nSee data/.\n")
    docs_only = project.commit("docs", "README.md")
    assert docs_only.returncode == 0, docs_only.stdout
    assert "(no files to check)Skipped" in docs_only.stdout, docs_only.stdout


def test_project_hook_lints_the_configured_paths(tmp_path: Path, hook_repo: HookRepo) -> None:
    project = _make_project(tmp_path, hook_repo, ["lineage-lint-project"], 'paths = ["data/"]\n')
    data = project.path / "data"

    write_jsonl(data / "gpt.jsonl", [chat("When does water boil?", GPT_ANSWER)])
    write_jsonl(data / "staff.jsonl", [chat("When are you open?", STAFF_ANSWER)])
    accepted = project.commit("add data", "data/gpt.jsonl", "data/staff.jsonl")
    assert accepted.returncode == 0, accepted.stdout
    assert f"{PROJECT}." in accepted.stdout and "Passed" in accepted.stdout, accepted.stdout

    # A new file with a Claude answer: the whole of data/ is linted and the commit refused.
    write_jsonl(data / "claude.jsonl", [chat("What does photosynthesis do?", CLAUDE_ANSWER)])
    rejected = project.commit("add Claude outputs", "data/claude.jsonl")
    assert rejected.returncode != 0, rejected.stdout
    assert "- hook id: lineage-lint-project\n- exit code: 1" in rejected.stdout, rejected.stdout
    assert "data/claude.jsonl:1: ANT001 [error]" in rejected.stdout, rejected.stdout
    assert "in 3 file(s)" in rejected.stdout, rejected.stdout
    project.git("rm", "-q", "--cached", "data/claude.jsonl")
    (data / "claude.jsonl").unlink()

    # No dataset changes, but the use context does: the model will compete with OpenAI, so the
    # GPT-4o answers already committed are now blocked (OAI003).
    (project.path / "pyproject.toml").write_text(
        (project.path / "pyproject.toml").read_text().replace("competes_with = []", 'competes_with = ["openai"]')
    )
    context = project.commit("compete with OpenAI", "pyproject.toml")
    assert context.returncode != 0, context.stdout
    assert "data/gpt.jsonl:1: OAI003 [error]" in context.stdout, context.stdout
    assert project.commits() == ["add data", "set-up"]

    # A commit that touches neither datasets nor configuration does not run it.
    project.git("reset", "-q", "pyproject.toml")
    project.git("checkout", "--", "pyproject.toml")
    (project.path / "README.md").write_text("# Acme fine-tuning data\n\nSee data/.\n")
    docs_only = project.commit("docs", "README.md")
    assert docs_only.returncode == 0, docs_only.stdout
    assert "(no files to check)Skipped" in docs_only.stdout, docs_only.stdout
    assert project.commits() == ["docs", "add data", "set-up"]


def test_try_repo(tmp_path: Path, hook_repo: HookRepo) -> None:
    """`pre-commit try-repo`, for trying the hooks before adding them to the config."""
    project = _make_project(tmp_path, hook_repo, [])
    write_jsonl(project.path / "data" / "train.jsonl", [chat("When are you open?", STAFF_ANSWER),
                                                        chat("What does photosynthesis do?", CLAUDE_ANSWER)])
    tried = _pre_commit(project.path, project.env, "try-repo", str(hook_repo.path), "lineage-lint",
                        "--files", "data/train.jsonl")
    assert tried.returncode == 1, tried.stdout
    assert "data/train.jsonl:2: ANT001 [error]" in tried.stdout, tried.stdout


def test_manifest_and_examples_are_valid(tmp_path: Path) -> None:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}  # not the user's cache
    manifest = _run([sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"], ROOT,
                    env, check=False)
    assert manifest.returncode == 0, manifest.stdout
    example = ROOT / "examples" / "pre-commit"
    config = _run([sys.executable, "-m", "pre_commit", "validate-config", str(example / ".pre-commit-config.yaml")],
                  ROOT, env, check=False)
    assert config.returncode == 0, config.stdout

    hook_ids = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hook_ids == {"lineage-lint", "lineage-lint-project"}
    repos = yaml.safe_load((example / ".pre-commit-config.yaml").read_text())["repos"]
    assert [repo["repo"] for repo in repos] == ["https://github.com/tos-lineage/tos-lineage"]
    assert {hook["id"] for hook in repos[0]["hooks"]} <= hook_ids

    # The sample [tool.lineage] is accepted as it is, and its `paths` are what a bare `lineage lint` checks.
    shutil.copy(example / "pyproject.toml", tmp_path / "pyproject.toml")
    run_cli("init", cwd=tmp_path, check=True)
    staff = write_jsonl(tmp_path / "data" / "staff.jsonl", [chat("When are you open?", STAFF_ANSWER)])
    run_cli("import", str(staff), "--kind", "human", "--name", "staff", "--all-segments", cwd=tmp_path, check=True)
    linted = run_cli("lint", cwd=tmp_path)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "1 examples in 1 file(s)" in linted.stdout, linted.stdout
