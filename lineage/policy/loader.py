"""Loading policy files: YAML validated by pydantic, errors with file, line and key.

The bundled pack ships inside the wheel as `lineage/_policies`; in a source checkout or an
editable install it is the repository's `policies/` folder.
"""

from __future__ import annotations

import hashlib
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lineage.exceptions import ConfigError, InputError
from lineage.policy.schema import Document, LicenseClass, LicenseDefinition, ModelEntry, PolicyFile, Rule

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def bundled_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    installed = here / "_policies"
    return installed if installed.is_dir() else here.parent / "policies"


def bundled_version() -> str:
    """The bundled pack's version, from policies/pack.toml: every report names it."""
    from lineage.config import tomllib

    with (bundled_dir() / "pack.toml").open("rb") as handle:
        return str(tomllib.load(handle)["version"])


def policy_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def read_yaml_text(path: Path, what: str, fix: str) -> str:
    """The text of a policy or waivers file (`what` names which), or one line why it cannot be
    read: missing, not a regular file, UTF-16 or UTF-32, or not UTF-8 at a given line."""
    from lineage.readers import check_regular_file, wide_encoding

    try:
        check_regular_file(path)
        raw = path.read_bytes()
    except InputError as exc:
        raise ConfigError(exc.what, where=exc.where, fix=exc.fix) from None
    except FileNotFoundError:
        raise ConfigError(f"no such {what}", where=str(path), fix=fix) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} ({exc.strerror or exc})", where=str(path),
                          fix="check the path and its permissions") from None
    wide = wide_encoding(raw[:4])
    if wide is not None:
        found, encoding = wide
        raise ConfigError(f"the file is {found}, not UTF-8", where=str(path),
                          fix=f"convert it, e.g. iconv -f {encoding} -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"the file is not UTF-8 (byte {exc.start})", where=f"{path} line {line}",
                          fix="save it as UTF-8") from None


def load_file(path: Path) -> PolicyFile:
    """Read and validate one policy file."""
    text = read_yaml_text(path, "policy file", "check the path in --policy or `policies`")
    data = parse_yaml(text, path, _check_class_keys if "license_classes" in text else None)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("a policy file must be a mapping", where=str(path), fix="see docs/policies.md")
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, text, path, PolicyFile, "invalid policy file",
                               "see docs/policies.md for the format") from None


def validation_error(exc: ValidationError, text: str, path: Path, root: type[BaseModel], what: str,
                     fix: str) -> ConfigError:
    """One line for a policy or waivers file that does not validate: the key (its line in the
    file) and what is wrong; for an unknown key, the closest key allowed there."""
    # An unknown key is most often a typo, and the "missing field" errors it causes are noise.
    errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
    error = errors[0]
    loc = tuple(error.get("loc", ()))
    line = yaml_line(text, loc)
    key = ".".join(str(part) for part in loc) or "(top level)"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown key"
        known = _fields_at(root, loc[:-1])
        if known:
            from rapidfuzz import process

            match = process.extractOne(str(loc[-1]), sorted(known), score_cutoff=60)
            hint = f"did you mean `{match[0]}`?" if match else f"use one of {', '.join(sorted(known))}"
            fix = f"{hint} ({fix})"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    where = f"{path} line {line}" if line else str(path)
    return ConfigError(f"{what}: {key}: {message}{more}", where=where, fix=fix)


def _fields_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at `loc` inside `root` (list indexes and dict keys
    followed through the annotations); empty when the path does not lead to a model."""
    current: Any = root
    for part in loc:
        current = _without_none(current)
        if _is_model(current) and not isinstance(part, int):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:  # an element of a list, or a value of a mapping
            args = typing.get_args(current)
            if not args:
                return []
            current = args[-1]
    current = _without_none(current)
    return list(current.model_fields) if _is_model(current) else []


def _without_none(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    is_optional = type(None) in typing.get_args(annotation) and len(args) == 1
    return args[0] if is_optional else annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# Nodes a file may expand to, aliases followed: far above any real policy or waivers file, far
# below what a "billion laughs" file of nested aliases would make pydantic walk.
MAX_YAML_NODES = 1_000_000


def parse_yaml(text: str, path: Path, node_check: Callable[[Any, Path], None] | None = None) -> Any:
    """A policy or waivers file's YAML, or a ConfigError that names the file and line: a syntax
    error, an impossible date (`2026-13-45`), or aliases that expand beyond MAX_YAML_NODES.
    `node_check`, if given, sees the composed document before it is constructed."""
    loader = YAML_LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path} line {mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise ConfigError(f"invalid YAML ({problem})", where=where, fix="fix the syntax there") from None
        if node is None:
            return None
        _check_expansion(node, path)
        if node_check is not None:
            node_check(node, path)
        try:
            return loader.construct_document(node)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError) as exc:
            bad = _bad_scalar(node)
            line = f" line {bad.start_mark.line + 1}" if bad is not None else ""
            value = f" {bad.value!r}" if bad is not None else ""
            raise ConfigError(f"invalid value{value} ({exc})", where=f"{path}{line}",
                              fix="write dates as YYYY-MM-DD, a real day (quote other text)") from None
    finally:
        loader.dispose()


def _check_expansion(root: Any, path: Path) -> None:
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise ConfigError(f"the YAML expands to more than {MAX_YAML_NODES:,} values through its aliases",
                              where=str(path), fix="write the values out, without nested aliases (&anchor / *alias)")
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def _bad_scalar(root: Any) -> Any:
    """The first scalar node that cannot be made into its value (an impossible date)."""
    probe = yaml.SafeLoader("")
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                probe.construct_object(node)
            except Exception:
                return node
        elif isinstance(node, yaml.MappingNode):
            stack += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return None


def yaml_line(text: str, loc: Sequence[Any]) -> int | None:
    """The 1-based line of the YAML node at `loc` (a pydantic error location), as near as it goes."""
    try:
        node = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


@dataclass
class Pack:
    """The policy pack in force: the bundled files plus the user's own."""

    documents: dict[str, Document] = field(default_factory=dict)
    # Every licence the pack knows, whether defined clause by clause or through a class.
    licenses: dict[str, LicenseDefinition] = field(default_factory=dict)
    license_classes: dict[str, LicenseClass] = field(default_factory=dict)
    # Licence id -> the id of the class that defines it (absent for a licence defined in full).
    license_class_of: dict[str, str] = field(default_factory=dict)
    # Licence ids whose bundled definition or class a later file replaced (`override: true`).
    overridden: dict[str, Path] = field(default_factory=dict)
    models: list[ModelEntry] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    sha256: str = ""
    # The bundled pack's version (policies/pack.toml); "" for a pack of the user's files alone.
    version: str = ""
    # Rule code -> (document id, rules by version) for `policies show`.
    codes: dict[str, str] = field(default_factory=dict)

    def rules(self, code: str) -> list[tuple[Document, str, Rule]]:
        """Every (document, version, rule) with this code, oldest first."""
        document = self.documents.get(self.codes.get(code, ""))
        if document is None:
            return []
        return [(document, v.version, r) for v in document.versions for r in v.rules if r.code == code]


def load_pack(extra: Iterable[str | Path] = (), *, bundled: bool = True) -> Pack:
    """The bundled pack (unless `bundled` is false) and the user's files, checked as a whole."""
    paths = policy_files(bundled_dir()) if bundled else []
    user: list[Path] = []
    for item in extra:
        path = Path(item)
        if path.is_dir():
            user.extend(policy_files(path))
        elif path.exists():
            user.append(path)  # load_file says what is wrong if it is not a regular file
        else:
            raise ConfigError("no such policy file", where=str(path), fix="check the path in --policy or `policies`")
    # A bundled file named again (e.g. `lineage policies validate policies/x.yaml`) is the same file.
    seen = {p.resolve() for p in paths}
    user = [p for p in dict.fromkeys(user) if p.resolve() not in seen]
    pack = Pack()
    digest = hashlib.sha256()
    # The user's catalogue entries come first, so that they win over the bundled ones.
    user_models: list[ModelEntry] = []
    for path in [*paths, *user]:
        loaded = load_file(path)
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        pack.files.append(path)
        for document in loaded.documents:
            if document.id in pack.documents:
                raise ConfigError(f"document {document.id!r} is defined twice", where=str(path),
                                  fix="give your document another id")
            pack.documents[document.id] = document
            for version in document.versions:
                for rule in version.rules:
                    owner = pack.codes.setdefault(rule.code, document.id)
                    if owner != document.id:
                        raise ConfigError(
                            f"rule code {rule.code} is used by both {owner!r} and {document.id!r}",
                            where=str(path),
                            fix="give the rule a code of its own",
                        )
        for definition in loaded.licenses:
            _add_license(pack, definition, None, path)
        for license_class in loaded.license_classes:
            if license_class.id in pack.license_classes:
                raise ConfigError(f"licence class {license_class.id!r} is defined twice", where=str(path),
                                  fix="give your class another id")
            pack.license_classes[license_class.id] = license_class
            for definition in license_class.definitions():
                _add_license(pack, definition, license_class.id, path)
        (user_models if path in user else pack.models).extend(loaded.models)
    pack.models = [*user_models, *pack.models]
    pack.sha256 = digest.hexdigest()
    pack.version = bundled_version() if bundled else ""
    return pack


def _add_license(pack: Pack, definition: LicenseDefinition, class_id: str | None, path: Path) -> None:
    """Add one licence to the pack: an id defined twice is an error, unless the later one says
    `override: true` (and then there must be something to override)."""
    license_id = definition.id
    how = f"in class {class_id!r} " if class_id else ""
    if license_id in pack.licenses:
        if not definition.override:
            earlier = pack.license_class_of.get(license_id)
            where = f" (in class {earlier!r})" if earlier else ""
            raise ConfigError(
                f"licence {license_id!r} {how}is defined twice{where}", where=str(path),
                fix="set `override: true` to replace the earlier definition, or give your licence another LicenseRef- id",
            )
        pack.overridden[license_id] = path
    elif definition.override:
        raise ConfigError(f"licence {license_id!r} {how}has `override: true` but overrides nothing", where=str(path),
                          fix="remove `override`, or check the id")
    pack.licenses[license_id] = definition
    if class_id:
        pack.license_class_of[license_id] = class_id
    else:
        pack.license_class_of.pop(license_id, None)


def _check_class_keys(root: Any, path: Path) -> None:
    """A licence id written twice in one class's `licenses` mapping is an error: YAML would
    silently keep the last, and the other entry would be lost."""
    if not isinstance(root, yaml.MappingNode):
        return
    section = next((v for k, v in root.value if k.value == "license_classes"), None)
    if not isinstance(section, yaml.SequenceNode):
        return
    for entry in section.value:
        if not isinstance(entry, yaml.MappingNode):
            continue
        ids = next((v for k, v in entry.value if k.value == "licenses"), None)
        if not isinstance(ids, yaml.MappingNode):
            continue
        seen: set[str] = set()
        for key, _ in ids.value:
            if key.value in seen:
                raise ConfigError(f"invalid policy file: licence {key.value} is listed twice in a class",
                                  where=f"{path} line {key.start_mark.line + 1}", fix="list each id once")
            seen.add(key.value)
