#!/usr/bin/env python
"""Generate docs/configuration.md from the configuration code itself, so the reference cannot drift.

    python scripts/config_reference.py          # rewrite docs/configuration.md
    python scripts/config_reference.py --check  # exit 1 if the committed file is stale (the test does this)

Sources, all read from code, none typed by hand:

* every field of the dataclasses in ``constructs_lib/config.py`` (walked from ``EnvironmentConfig``), with
  its type, its prod default and its staging value (``load_config`` of both environments, so the staging
  delta in ``_staging_overrides`` shows up exactly as it is applied);
* the comments written next to each field (the lines above it and the one at its end), which is where
  config.py explains defaults and deviations from the guide;
* every ``ConfigError(path, message)`` in ``constructs_lib/validation.py``, matched to the field its path
  names. Paths built with f-strings are resolved from the rule's own local names (``p = "database"``,
  ``for name in ("a", "b")``); what cannot be resolved is shown as ``<expression>``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import io
import json
import re
import sys
import tokenize
import typing
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib import config as config_module  # noqa: E402
from constructs_lib.config import EnvironmentConfig, RegionSpec, load_config  # noqa: E402
from regions import REGION_SPECS  # noqa: E402

CONFIG_PY = ROOT / "constructs_lib" / "config.py"
VALIDATION_PY = ROOT / "constructs_lib" / "validation.py"
OUTPUT = ROOT / "docs" / "configuration.md"


# ------------------------------------------------------------------------------------------------------
# Field comments from config.py
# ------------------------------------------------------------------------------------------------------


def field_comments(source: str) -> dict[tuple[str, str], str]:
    """``{(class name, field name): comment text}`` from the comment lines above a field and at its end."""
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    lines = source.splitlines()
    found: dict[tuple[str, str], str] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            parts: list[str] = []
            line = stmt.lineno - 1
            above: list[str] = []
            # Contiguous full-line comments directly above the field.
            while line >= 1 and lines[line - 1].strip().startswith("#") and line in comments:
                above.insert(0, comments[line])
                line -= 1
            parts.extend(above)
            end = getattr(stmt, "end_lineno", stmt.lineno)
            for ln in range(stmt.lineno, end + 1):
                if ln in comments and not lines[ln - 1].strip().startswith("#"):
                    parts.append(comments[ln])
            found[(node.name, stmt.target.id)] = " ".join(p for p in parts if p)
    return found


def class_docs(source: str) -> dict[str, str]:
    """First paragraph of each class docstring."""
    docs = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            doc = ast.get_docstring(node) or ""
            docs[node.name] = " ".join(doc.split("\n\n")[0].split())
    return docs


# ------------------------------------------------------------------------------------------------------
# Validation rules from validation.py
# ------------------------------------------------------------------------------------------------------


class _RuleCollector(ast.NodeVisitor):
    """Collects ``ConfigError(path, message)`` calls with the string bindings in scope at each call."""

    def __init__(self, source: str, call_sites: dict[str, list[dict[str, list[str]]]] | None = None) -> None:
        self.source = source
        self.scopes: list[dict[str, list[str]]] = [{}]
        self.rules: list[tuple[str, str]] = []
        tree = ast.parse(source)
        self.functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        #: For helper rules (``_windows(prefix, ...)``): the string arguments of each call site, so a helper's
        #: paths are resolved once per caller (``database.backup_window``, ``cache.snapshot_window``).
        self.call_sites: dict[str, list[dict[str, list[str]]]] = call_sites or {}
        self.seen_calls: dict[str, list[dict[str, list[str]]]] = defaultdict(list)

    # -- bindings -----------------------------------------------------------------------------------------
    def _lookup(self, name: str) -> list[str] | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def _strings(self, node: ast.expr) -> list[str] | None:
        """Every string value ``node`` can take, when it is knowable from the code alone."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
            return [str(node.value)]
        if isinstance(node, ast.Name):
            return self._lookup(node.id)
        if isinstance(node, ast.JoinedStr):
            return self._joined(node, placeholder=True)
        return None

    def _joined(self, node: ast.JoinedStr, *, placeholder: bool) -> list[str]:
        results = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                results = [r + str(part.value) for r in results]
                continue
            assert isinstance(part, ast.FormattedValue)
            values = self._strings(part.value) if part.conversion == -1 and part.format_spec is None else None
            if values is None:
                text = ast.get_source_segment(self.source, part.value) or "?"
                # In a path, `region.name` stands for "a region": <region>; in a message, the expression.
                values = [f"<{text.split('.')[0].split('[')[0]}>" if placeholder else _placeholder(text)]
            results = [r + v for r in results for v in values]
        return results

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for bindings in self.call_sites.get(node.name) or [{}]:
            self.scopes.append(dict(bindings))
            self.generic_visit(node)
            self.scopes.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values = self._strings(node.value)
            if values is not None:
                self.scopes[-1][node.targets[0].id] = values
            elif isinstance(node.value, ast.Dict):  # `plans = {"public_subnet_octets": ..., ...}`: its keys
                keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
                if len(keys) == len(node.value.keys):
                    self.scopes[-1][f"{node.targets[0].id}.keys()"] = keys
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        if isinstance(node.iter, (ast.Tuple, ast.List)):
            items = node.iter.elts
            if isinstance(node.target, ast.Name) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in items):
                self.scopes[-1][node.target.id] = [e.value for e in items]  # type: ignore[attr-defined]
            elif isinstance(node.target, ast.Tuple) and all(isinstance(e, ast.Tuple) for e in items):
                for i, target in enumerate(node.target.elts):
                    column = [e.elts[i] for e in items if i < len(e.elts)]  # type: ignore[attr-defined]
                    if isinstance(target, ast.Name) and all(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in column):
                        self.scopes[-1][target.id] = [c.value for c in column]  # type: ignore[attr-defined]
        elif (isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Attribute) and node.iter.func.attr == "items"
              and isinstance(node.iter.func.value, ast.Name) and isinstance(node.target, ast.Tuple)
              and isinstance(node.target.elts[0], ast.Name)):
            keys = self._lookup(f"{node.iter.func.value.id}.keys()")
            if keys is not None:
                self.scopes[-1][node.target.elts[0].id] = keys
        self.generic_visit(node)

    # -- rules --------------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in self.functions:
            params = [a.arg for a in self.functions[node.func.id].args.args]
            bound = {}
            for param, arg in zip(params, node.args, strict=False):
                values = self._strings(arg)
                if values is not None and len(values) == 1:
                    bound[param] = values
            if bound and bound not in self.seen_calls[node.func.id]:
                self.seen_calls[node.func.id].append(bound)
        if isinstance(node.func, ast.Name) and node.func.id == "ConfigError" and len(node.args) >= 2:
            paths = self._strings(node.args[0]) or [f"<{ast.get_source_segment(self.source, node.args[0])}>"]
            message_node = node.args[1]
            if isinstance(message_node, ast.Constant):
                message = str(message_node.value)
            elif isinstance(message_node, ast.JoinedStr):
                variants = self._joined(message_node, placeholder=False)
                message = variants[0] if len(variants) == 1 else _render_fstring(self.source, message_node)
            else:
                message = ast.get_source_segment(self.source, message_node) or "?"
            for path in paths:
                self.rules.append((path, " ".join(message.split())))
        self.generic_visit(node)


def _render_fstring(source: str, node: ast.JoinedStr) -> str:
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(str(part.value))
        else:
            out.append(_placeholder(ast.get_source_segment(source, part.value) or ""))  # type: ignore[attr-defined]
    return "".join(out)


def _placeholder(expression: str) -> str:
    """A value known only at validation time, shown as what it stands for: ``d.engine_version`` ->
    ``<engine_version>``; anything more complex -> ``<…>``."""
    return f"<{expression.split('.')[-1]}>" if re.fullmatch(r"[A-Za-z_][\w.]*", expression) else "<…>"


def validation_rules(source: str) -> list[tuple[str, str]]:
    """``[(field path, rule message)]`` in the order validation.py checks them, duplicates removed."""
    call_sites: dict[str, list[dict[str, list[str]]]] = {}
    for _ in range(3):  # helpers called from helpers: each pass resolves one more level of call sites
        collector = _RuleCollector(source, call_sites)
        collector.visit(ast.parse(source))
        call_sites = dict(collector.seen_calls)
    seen: set[tuple[str, str]] = set()
    rules = []
    for rule in collector.rules:
        if rule not in seen:
            seen.add(rule)
            rules.append(rule)
    return rules


def rule_key(path: str) -> str:
    """Map a rule's path onto the reference's field keys: regions and services are per item."""
    parts = path.replace("[", ".[").split(".")
    if parts[0] == "regions" and len(parts) >= 3:
        return "regions[]." + ".".join(parts[2:])
    if parts[:2] == ["workloads", "services"] and len(parts) >= 4:
        return "workloads.services[]." + ".".join(parts[3:])
    return path


# ------------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------------


def _type_name(hint: Any) -> str:
    if isinstance(hint, str):
        return hint
    if typing.get_origin(hint) is not None:  # tuple[str, ...], Mapping[str, str]
        return str(hint).replace("typing.", "").replace("collections.abc.", "")
    return getattr(hint, "__name__", repr(hint))


def _value(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "(section)"
    if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
        return "[" + ", ".join(getattr(v, "name", "?") for v in value) + "]"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, typing.Mapping):
        value = dict(value)
    return json.dumps(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(
    out: list[str],
    title: str,
    cls: type,
    prod_obj: Any,
    staging_obj: Any,
    prefix: str,
    comments: dict[tuple[str, str], str],
    docs: dict[str, str],
    rules: dict[str, list[str]],
    used: set[str],
) -> list[tuple[str, str, type, Any, Any]]:
    """Append one dataclass as a table; return its nested dataclass fields for their own sections."""
    nested: list[tuple[str, str, type, Any, Any]] = []
    hints = typing.get_type_hints(cls)
    out.append(f"## `{title}` ({cls.__name__})")
    out.append("")
    if docs.get(cls.__name__):
        out.append(docs[cls.__name__])
        out.append("")
    out.append("| field | type | default (prod) | staging | notes | validation |")
    out.append("| --- | --- | --- | --- | --- | --- |")
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        prod_value = getattr(prod_obj, f.name) if prod_obj is not None else _default_of(f)
        staging_value = getattr(staging_obj, f.name) if staging_obj is not None else prod_value
        hint = hints.get(f.name, f.type)
        if dataclasses.is_dataclass(prod_value) and not isinstance(prod_value, type):
            nested.append((key, key, type(prod_value), prod_value, staging_value))
            default_cell = f"see [`{key}`](#{_anchor(key, type(prod_value).__name__)})"
            staging_cell = ""
        else:
            default_cell = f"`{_value(prod_value)}`"
            staging_cell = "" if staging_value == prod_value else f"`{_value(staging_value)}`"
        field_rules = rules.get(key, [])
        used.add(key)
        out.append("| " + " | ".join(_cell(c) for c in (
            f"`{f.name}`",
            f"`{_type_name(hint)}`",
            default_cell,
            staging_cell,
            comments.get((cls.__name__, f.name), ""),
            "<br>".join(field_rules) if field_rules else "",
        )) + " |")
    out.append("")
    return nested


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return "(required)"


def _anchor(key: str, cls_name: str) -> str:
    """GitHub's heading anchor for ``## `key` (ClassName)``."""
    text = f"{key} ({cls_name})".lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def known_keys() -> set[str]:
    """Every field key the reference has a row for (``database.iops``, ``regions[].azs``, ...)."""
    keys: set[str] = {f"regions[].{f.name}" for f in dataclasses.fields(RegionSpec)}

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            keys.add(prefix + f.name)
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                walk(value, f"{prefix}{f.name}.")
            elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
                walk(value[0], f"{prefix}{f.name}[].")

    walk(load_config("prod", REGION_SPECS), "")
    return keys


def render() -> str:
    """The whole reference, as markdown."""
    config_source = CONFIG_PY.read_text()
    comments = field_comments(config_source)
    docs = class_docs(config_source)
    known = known_keys()
    rules: dict[str, list[str]] = defaultdict(list)
    for path, message in validation_rules(VALIDATION_PY.read_text()):
        key = rule_key(path)
        # `edge.certificate_arns.<region>` is a rule on the field `edge.certificate_arns`.
        while key not in known and "." in key and key.split(".")[0] in known:
            key = key.rsplit(".", 1)[0]
        rules[key].append(message)
    prod = load_config("prod", REGION_SPECS)
    staging = load_config("staging", REGION_SPECS)

    out: list[str] = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/config_reference.py from constructs_lib/config.py and",
        "     constructs_lib/validation.py. Do not edit: run `.venv/bin/python scripts/config_reference.py`. -->",
        "",
        "Every field of an environment's configuration, its default (prod), the value staging uses where it",
        "differs, the note written next to it in `constructs_lib/config.py`, and the rules",
        "`constructs_lib/validation.py` enforces before anything is synthesized (a broken rule prints",
        "`config error: <field>: <rule>` and `main.py` exits 2). Expressions in `{braces}` are filled in with",
        "the offending value; `<...>` in a path is the item concerned (a region, a service).",
        "",
        "**Changing a value.** Either edit `constructs_lib/config.py` (reviewed like code) or pass a JSON",
        "overrides file whose keys mirror the sections below: `python main.py --config overrides.json`,",
        "`GLOBALPAY_CONFIG_FILE=overrides.json npx cdktf synth`. Unknown keys and wrong JSON types are refused",
        "at load time. `regions` is keyed by region name (or a full list replaces the set);",
        "`workloads.services` is a list of objects with a `name`. `GLOBALPAY_AWS_ACCOUNT_ID` sets",
        "`aws_account_id`.",
        "",
        "**The committed configuration of each environment.** Every synth (`python3 tasks.py synth`, `npx cdktf",
        "synth`/`deploy`, and every pipeline workflow: plans, drift checks, deploys) first reads",
        "`environments/<env>.json`, an overrides file in this same format, then `--config` on top of it. It holds the",
        "topology in force (`primary_region`, `secondary_region` and whatever a failover or failback step commits",
        "with them), so every path plans the same writer. `--environment-file FILE` / `GLOBALPAY_ENVIRONMENT_FILE`",
        "reads another file in its place, `none` none; errors in it name the file. `environments/<env>.freeze`",
        "stops the pipeline's deploys of that environment ([runbooks/pipeline.md](runbooks/pipeline.md)). Example",
        "of an overrides file:",
        "",
        "```json",
        '{"aws_account_id": "210987654321", "database": {"instance_class": "db.r6g.4xlarge"},',
        ' "regions": {"eu-west-1": {"vpc_cidr": "10.11.0.0/16"}}}',
        "```",
        "",
        "Environments: " + ", ".join(f"`{n}`" for n in config_module.ENVIRONMENT_NAMES) + ".",
        "",
    ]
    used: set[str] = set()
    queue = _section(out, "(top level)", EnvironmentConfig, prod, staging, "", comments, docs, rules, used)

    # Regions: the RegionSpec fields, then each region's actual values.
    out.append(f"## `regions[]` ({RegionSpec.__name__})")
    out.append("")
    out.append(docs.get(RegionSpec.__name__, ""))
    out.append("")
    out.append("| field | type | default | notes | validation |")
    out.append("| --- | --- | --- | --- | --- |")
    hints = typing.get_type_hints(RegionSpec)
    for f in dataclasses.fields(RegionSpec):
        key = f"regions[].{f.name}"
        used.add(key)
        out.append("| " + " | ".join(_cell(c) for c in (
            f"`{f.name}`", f"`{_type_name(hints[f.name])}`", f"`{_value(_default_of(f))}`",
            comments.get((RegionSpec.__name__, f.name), ""), "<br>".join(rules.get(key, [])),
        )) + " |")
    out.append("")
    out.append("Configured regions (`regions/*.py`):")
    out.append("")
    out.append("| region | role (prod) | vpc_cidr | azs | dns_firewall_threat_list_id |")
    out.append("| --- | --- | --- | --- | --- |")
    for spec in prod.regions:
        out.append(f"| `{spec.name}` | {prod.role_of(spec.name)} | `{spec.vpc_cidr}` | {', '.join(spec.azs)} | `{spec.dns_firewall_threat_list_id}` |")
    out.append("")

    while queue:
        key, title, cls, prod_obj, staging_obj = queue.pop(0)
        queue.extend(_section(out, title, cls, prod_obj, staging_obj, f"{key}.", comments, docs, rules, used))
        # Lists of dataclasses (workloads.services) get one table of the item type.
        for f in dataclasses.fields(cls):
            value = getattr(prod_obj, f.name)
            if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
                item_cls = type(value[0])
                item_key = f"{key}.{f.name}[]"
                out.append(f"## `{item_key}` ({item_cls.__name__})")
                out.append("")
                if docs.get(item_cls.__name__):
                    out.append(docs[item_cls.__name__])
                    out.append("")
                out.append("| field | type | default | notes | validation |")
                out.append("| --- | --- | --- | --- | --- |")
                item_hints = typing.get_type_hints(item_cls)
                parts: list[tuple[str, type]] = []
                for item_field in dataclasses.fields(item_cls):
                    ikey = f"{item_key}.{item_field.name}"
                    used.add(ikey)
                    default = _default_of(item_field)
                    if dataclasses.is_dataclass(default) and not isinstance(default, type):
                        parts.append((item_field.name, type(default)))
                        default_cell = f"see [`{ikey}`](#{_anchor(ikey, type(default).__name__)})"
                    else:
                        default_cell = f"`{_value(default)}`"
                    out.append("| " + " | ".join(_cell(c) for c in (
                        f"`{item_field.name}`", f"`{_type_name(item_hints[item_field.name])}`",
                        default_cell, comments.get((item_cls.__name__, item_field.name), ""),
                        "<br>".join(rules.get(ikey, [])),
                    )) + " |")
                out.append("")
                # A dataclass inside each item (a service's access): its default, and each prod item's value.
                for part, part_cls in parts:
                    part_key = f"{item_key}.{part}"
                    names = [getattr(v, "name", "?") for v in value]
                    out.append(f"## `{part_key}` ({part_cls.__name__})")
                    out.append("")
                    if docs.get(part_cls.__name__):
                        out.append(docs[part_cls.__name__])
                        out.append("")
                    out.append("| field | type | default | " + " | ".join(f"{n} (prod)" for n in names) + " | notes | validation |")
                    out.append("| --- | --- | --- | " + " | ".join("---" for _ in names) + " | --- | --- |")
                    part_hints = typing.get_type_hints(part_cls)
                    for pf in dataclasses.fields(part_cls):
                        pkey = f"{part_key}.{pf.name}"
                        used.add(pkey)
                        out.append("| " + " | ".join(_cell(c) for c in (
                            f"`{pf.name}`", f"`{_type_name(part_hints[pf.name])}`", f"`{_value(_default_of(pf))}`",
                            *(f"`{_value(getattr(getattr(v, part), pf.name))}`" for v in value),
                            comments.get((part_cls.__name__, pf.name), ""), "<br>".join(rules.get(pkey, [])),
                        )) + " |")
                    out.append("")

    leftovers = [(path, msgs) for path, msgs in rules.items() if path not in used]
    if leftovers:
        out.append("## Rules that span fields or are not a single field")
        out.append("")
        out.append("| path | rule |")
        out.append("| --- | --- |")
        for path, msgs in leftovers:
            for msg in msgs:
                out.append(f"| `{_cell(path)}` | {_cell(msg)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/configuration.md is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(args.output), "generated"))
            print(f"\n{args.output} is stale: run .venv/bin/python scripts/config_reference.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
