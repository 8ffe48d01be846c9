"""The Kubernetes side that ``terraform validate`` cannot check.

* Every ``helm_release`` of every stack sets only value paths its pinned chart has: in the chart's
  ``values.yaml``, declared by its ``values.schema.json``, or read by its templates. Helm ignores a misspelled
  value silently (the release installs, without the setting): that is the bug class caught here. Values that
  a chart's ``values.schema.json`` rejects (type, enum, unknown key where the schema is closed) fail too.
* ``configuration_values`` of EKS add-ons built from a public chart (``ADDON_CHARTS``) are checked the same
  way against that chart at the add-on's version (necessary, not sufficient: EKS applies its own schema).
* Every ``kubernetes_manifest`` object validates against the ``openAPIV3Schema`` of its CRD, taken from the
  pinned version of the chart (or add-on) that installs it. The API server prunes or rejects unknown fields.
* Every chart, add-on and image pin in ``constructs_lib/versions.py`` carries an evidence comment naming it.

The extracts live in ``tests/data/charts/<chart>/<version>/`` (repository, tag, commit and chart index entry in
each ``source.json``; ``tests/data/README.md``; ``scripts/refresh_chart_data.py`` rewrites them). The checks
walk the synthesized JSON generically: any stack, any construct path, any chart with an extract.
"""

from __future__ import annotations

import ast
import copy
import functools
import io
import json
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import versions
from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "charts"
VERSIONS_PY = ROOT / "constructs_lib" / "versions.py"

#: EKS add-ons whose configuration schema mirrors a public chart's values: add-on name -> chart name. The
#: chart version is the add-on version without ``v`` and ``-eksbuild.N``.
ADDON_CHARTS = {
    "amazon-cloudwatch-observability": "amazon-cloudwatch-observability",
    "vpc-cni": "aws-vpc-cni",
}

#: A whole-string Terraform reference or expression: its value is unknown until apply, any type is possible.
TOKEN = re.compile(r"^\$\{.*\}$", re.DOTALL)

#: ObjectMeta fields a manifest may set (the CRD schemas say only ``metadata: {type: object}``; the API server
#: validates ObjectMeta itself). Server-populated fields are not settable and are left out on purpose.
OBJECT_META = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    },
}

MISSING = object()


# ------------------------------------------------------------------------------------------------------
# Extracts
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extract:
    chart: str
    version: str
    source: dict[str, Any]
    values: dict[str, Any]
    schema: dict[str, Any] | None
    referenced: frozenset[str]
    passed_through: frozenset[str]
    #: ``{(apiVersion, kind): {"served": bool, "openAPIV3Schema": {...}}}``
    crds: dict[tuple[str, str], dict[str, Any]]

    @property
    def where(self) -> str:
        return f"{self.source['repository']}@{self.source['tag']}:{self.source['chart_dir']}"


def extract_dir(chart: str, version: str) -> Path:
    return DATA / chart / version


@functools.cache
def load_extract(chart: str, version: str) -> Extract | None:
    folder = extract_dir(chart, version)
    if not (folder / "source.json").is_file():
        return None

    def read(name: str) -> Any:
        return json.loads((folder / name).read_text())

    templates = read("templates.json")
    crds = {}
    for path in sorted((folder / "crds").glob("*.json")):
        crd = json.loads(path.read_text())
        for served_version, spec in crd["versions"].items():
            crds[(f"{crd['group']}/{served_version}", crd["kind"])] = spec
    return Extract(
        chart=chart,
        version=version,
        source=read("source.json"),
        values=read("values.json"),
        schema=read("values.schema.json") if (folder / "values.schema.json").is_file() else None,
        referenced=frozenset(templates["referenced"]),
        passed_through=frozenset(templates["passed_through"]),
        crds=crds,
    )


def missing_extract(chart: str, version: str, what: str) -> str:
    return (
        f"{what}: no extract for chart {chart} version {version}: add tests/data/charts/{chart}/{version}/ "
        f"(scripts/refresh_chart_data.py {chart} {version} --git-dir <clone of its source repository>)"
    )


# ------------------------------------------------------------------------------------------------------
# A small JSON-schema / structural-schema validator
# ------------------------------------------------------------------------------------------------------
# Supported: $ref (local), type (with nullable), enum, const, properties, patternProperties,
# additionalProperties, required, items, min/maxItems, min/maxLength, pattern, minimum/maximum,
# min/maxProperties, allOf, anyOf/oneOf (at least one branch), x-kubernetes-preserve-unknown-fields,
# x-kubernetes-int-or-string, x-kubernetes-embedded-resource. Not evaluated: x-kubernetes-validations (CEL),
# format, not, if/then/else, uniqueItems.


def _type_ok(value: Any, expected: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "null": value is None,
    }.get(expected, True)


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return True  # remote references are not followed: accept
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


@dataclass(frozen=True)
class Validator:
    root: dict[str, Any]
    #: Kubernetes structural schema: an object without properties or additionalProperties keeps no unknown
    #: field (the API server prunes them) unless x-kubernetes-preserve-unknown-fields.
    structural: bool
    check_required: bool

    def errors(self, value: Any, schema: Any, path: str) -> list[str]:
        schema = _resolve(schema, self.root)
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [f"{path}: not allowed here"]
        if isinstance(value, str) and TOKEN.match(value):
            return []
        out: list[str] = []
        for sub in schema.get("allOf", []):
            out += self.errors(value, sub, path)
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if branches and all(self.errors(value, b, path) for b in branches):
                out.append(f"{path}: matches none of the {keyword} alternatives")
        if schema.get("x-kubernetes-int-or-string"):
            if not (isinstance(value, str) or _type_ok(value, "integer")):
                out.append(f"{path}: must be an integer or a string, not {type(value).__name__}")
            return out
        if value is None and schema.get("nullable"):
            return out
        expected = schema.get("type")
        if expected is not None:
            allowed = expected if isinstance(expected, list) else [expected]
            if not any(_type_ok(value, t) for t in allowed):
                return [*out, f"{path}: must be {' or '.join(allowed)}, not {type(value).__name__} {value!r:.60}"]
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{path}: {value!r} is not one of {schema['enum']}")
        if "const" in schema and value != schema["const"]:
            out.append(f"{path}: must be {schema['const']!r}")
        if isinstance(value, str):
            out += self._string(value, schema, path)
        elif _type_ok(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{path}: {value} is below the minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{path}: {value} is above the maximum {schema['maximum']}")
        elif isinstance(value, list):
            out += self._array(value, schema, path)
        elif isinstance(value, dict):
            out += self._object(value, schema, path)
        return out

    def _string(self, value: str, schema: dict[str, Any], path: str) -> list[str]:
        out = []
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and "${" not in value:
            try:
                if not re.search(schema["pattern"], value):
                    out.append(f"{path}: {value!r} does not match {schema['pattern']!r}")
            except re.error:
                pass  # an ECMA-only construct: not checked
        return out

    def _array(self, value: list[Any], schema: dict[str, Any], path: str) -> list[str]:
        out = []
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{path}: more than {schema['maxItems']} items")
        items = schema.get("items")
        for i, item in enumerate(value):
            sub = items[i] if isinstance(items, list) and i < len(items) else items
            if sub is not None and not isinstance(sub, list):
                out += self.errors(item, sub, f"{path}[{i}]")
        return out

    def _object(self, value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
        out = []
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", MISSING)
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-embedded-resource")
        if self.check_required:
            for name in schema.get("required", []):
                if name not in value:
                    out.append(f"{path}.{name}: required field missing")
        for bound, word in (("minProperties", "fewer"), ("maxProperties", "more")):
            if bound in schema and (len(value) < schema[bound] if word == "fewer" else len(value) > schema[bound]):
                out.append(f"{path}: {word} than {schema[bound]} fields")
        for key, sub in value.items():
            here = f"{path}.{key}" if path else key
            matched = [s for p, s in patterns.items() if re.search(p, key)]
            if key in props:
                out += self.errors(sub, props[key], here)
            elif matched:
                for s in matched:
                    out += self.errors(sub, s, here)
            elif extra is not MISSING and extra is not True:
                out += self.errors(sub, extra, here) if extra is not False else [f"{here}: unknown field (the schema allows {sorted(props)})"]
            elif self.structural and extra is MISSING and not preserve:
                out.append(f"{here}: unknown field (the schema allows {sorted(props)})")
        return out


# ------------------------------------------------------------------------------------------------------
# Helm values against a chart extract
# ------------------------------------------------------------------------------------------------------


def _schema_children(nodes: list[Any], key: str, root: dict[str, Any]) -> tuple[list[Any], bool]:
    """The schema nodes that declare ``key`` below ``nodes``, and whether one of them is an open map."""
    found: list[Any] = []
    open_map = False
    stack = list(nodes)
    while stack:
        node = _resolve(stack.pop(), root)
        if not isinstance(node, dict):
            continue
        for keyword in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(keyword, []))
        if key in node.get("properties", {}):
            found.append(node["properties"][key])
        elif any(re.search(p, key) for p in node.get("patternProperties", {})):
            found.extend(s for p, s in node["patternProperties"].items() if re.search(p, key))
        else:
            extra = node.get("additionalProperties", MISSING)
            if extra is True or (isinstance(extra, dict) and extra is not MISSING):
                found.append(extra)
                open_map = True
    return found, open_map


def value_errors(values: Any, ex: Extract) -> list[str]:
    """Every value path of ``values`` that chart ``ex`` does not have, and every schema violation."""
    out: list[str] = []
    if not isinstance(values, dict):
        return [f"values must be a map, not {type(values).__name__}"]
    root = ex.schema or {}
    _walk(values, ex.values, [root] if ex.schema else [], (), ex, root, out)
    if ex.schema:
        # Helm validates defaults merged with these values, so a required field may come from the defaults.
        out += Validator(root, structural=False, check_required=False).errors(values, root, "")
    return out


def _walk(user: dict[str, Any], default: Any, schemas: list[Any], path: tuple[str, ...], ex: Extract, root: dict[str, Any], out: list[str]) -> None:
    for key, value in user.items():
        here = (*path, key)
        dotted = ".".join(p for p in here if not p.startswith("["))
        shown = ".".join(here).replace(".[", "[")
        if dotted in ex.passed_through:
            continue  # a map or list the chart passes through whole (toYaml / range): its keys are not Helm's
        sub_default = default.get(key, MISSING) if isinstance(default, dict) else MISSING
        sub_schemas, schema_open = _schema_children(schemas, key, root)
        referenced = dotted in ex.referenced or any(r.startswith(dotted + ".") for r in ex.referenced)
        if sub_default is MISSING and not sub_schemas and not referenced:
            near = sorted(default)[:40] if isinstance(default, dict) else []
            out.append(
                f"{shown}: chart {ex.chart} {ex.version} has no such value (not in values.yaml, values.schema.json "
                f"or its templates; {ex.where}); keys here: {near}"
            )
            continue
        if schema_open and sub_default is MISSING:
            continue
        if isinstance(value, dict):
            if isinstance(sub_default, dict) and sub_default:
                _walk(value, sub_default, sub_schemas, here, ex, root, out)
            elif sub_default in ({}, "null"):
                continue  # a map the chart leaves empty, or an optional value: open
            elif isinstance(sub_default, str | list):
                kind = "list" if isinstance(sub_default, list) else sub_default
                out.append(f"{shown}: chart {ex.chart} {ex.version} expects a {kind} here, not a map ({ex.where})")
            elif sub_schemas:
                _walk(value, {}, sub_schemas, here, ex, root, out)
            elif any(r.startswith(dotted + ".") for r in ex.referenced):
                _walk_referenced(value, here, ex, out)
        elif isinstance(value, list):
            if isinstance(sub_default, list) and sub_default and isinstance(sub_default[0], dict):
                item_schemas = [s.get("items") for s in (_resolve(x, root) for x in sub_schemas) if isinstance(s, dict) and isinstance(s.get("items"), dict)]
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        _walk(item, sub_default[0], item_schemas, (*here, f"[{i}]"), ex, root, out)
            # An empty default list is open unless the schema describes its items (the schema pass checks those).
        elif isinstance(sub_default, dict) and sub_default and not (isinstance(value, str) and TOKEN.match(value)):
            out.append(f"{shown}: chart {ex.chart} {ex.version} expects a map here, not {type(value).__name__} ({ex.where})")


def _walk_referenced(user: dict[str, Any], path: tuple[str, ...], ex: Extract, out: list[str]) -> None:
    """Below a value the chart has only in its templates: the keys the templates read."""
    for key, value in user.items():
        dotted = ".".join((*path, key))
        if dotted in ex.passed_through:
            continue
        if dotted not in ex.referenced and not any(r.startswith(dotted + ".") for r in ex.referenced):
            out.append(f"{dotted}: chart {ex.chart} {ex.version} reads no such value ({ex.where})")
        elif isinstance(value, dict):
            _walk_referenced(value, (*path, key), ex, out)


def set_entries_to_values(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``set`` blocks (``a.b\\.c[0].d``) as the nested values they stand for (leaf values kept as given)."""
    out: dict[str, Any] = {}
    for entry in entries or []:
        parts = [p.replace("\0", ".") for p in entry["name"].replace("\\.", "\0").split(".")]
        node: Any = out
        for i, part in enumerate(parts):
            m = re.fullmatch(r"(.*?)((?:\[\d+\])*)", part)
            name, indexes = m.group(1), re.findall(r"\[(\d+)\]", m.group(2))
            last = i == len(parts) - 1
            if not indexes:
                node = node.setdefault(name, entry.get("value") if last else {})
                continue
            lst = node.setdefault(name, [])
            for j, idx in enumerate(indexes):
                while len(lst) <= int(idx):
                    lst.append({} if not (last and j == len(indexes) - 1) else None)
                if last and j == len(indexes) - 1:
                    lst[int(idx)] = entry.get("value")
                else:
                    if not isinstance(lst[int(idx)], dict | list):
                        lst[int(idx)] = {} if j == len(indexes) - 1 else []
                    node = lst = lst[int(idx)]
    return out


# ------------------------------------------------------------------------------------------------------
# Walking the synthesized JSON
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    where: str
    chart: str
    version: str
    documents: list[Any]


def helm_releases(synth: Synth) -> Iterator[Release]:
    for stack_name in synth:
        for name, cfg in synth[stack_name].get("resource", {}).get("helm_release", {}).items():
            chart = str(cfg.get("chart", "")).rstrip("/").rsplit("/", 1)[-1].removesuffix(".tgz")
            docs: list[Any] = []
            for i, doc in enumerate(cfg.get("values") or []):
                try:
                    docs.append(json.loads(doc))
                except (TypeError, json.JSONDecodeError):
                    docs.append(f"values[{i}] is not a JSON document (this check reads JSON values, as addons.py writes them)")
            for block in ("set", "set_list", "set_sensitive"):
                if cfg.get(block):
                    docs.append(set_entries_to_values(cfg[block]))
            yield Release(f"{stack_name} helm_release.{name}", chart, str(cfg.get("version", "")), docs)


def addon_configurations(synth: Synth) -> Iterator[Release]:
    for stack_name in synth:
        for name, cfg in synth[stack_name].get("resource", {}).get("aws_eks_addon", {}).items():
            chart = ADDON_CHARTS.get(cfg.get("addon_name", ""))
            if chart is None or not cfg.get("configuration_values"):
                continue
            version = re.sub(r"^v|-eksbuild\.\d+$", "", str(cfg.get("addon_version", "")))
            try:
                doc: Any = json.loads(cfg["configuration_values"])
            except json.JSONDecodeError:
                doc = "configuration_values is not a JSON document"
            yield Release(f"{stack_name} aws_eks_addon.{name}", chart, version, [doc])


def release_errors(release: Release) -> list[str]:
    ex = load_extract(release.chart, release.version)
    if ex is None:
        return [missing_extract(release.chart, release.version, release.where)]
    out = []
    for doc in release.documents:
        if isinstance(doc, str):
            out.append(f"{release.where}: {doc}")
        else:
            out += [f"{release.where}: {e}" for e in value_errors(doc, ex)]
    return out


def crd_index(synth: Synth) -> dict[tuple[str, str], list[tuple[Extract, dict[str, Any]]]]:
    """CRD schemas served by the chart versions this synth installs (Helm releases and mapped add-ons)."""
    installed = {(r.chart, r.version) for r in helm_releases(synth)}
    for stack_name in synth:
        for cfg in synth[stack_name].get("resource", {}).get("aws_eks_addon", {}).values():
            chart = ADDON_CHARTS.get(cfg.get("addon_name", ""))
            if chart:
                installed.add((chart, re.sub(r"^v|-eksbuild\.\d+$", "", str(cfg.get("addon_version", "")))))
    index: dict[tuple[str, str], list[tuple[Extract, dict[str, Any]]]] = {}
    for chart, version in sorted(installed):
        ex = load_extract(chart, version)
        for key, spec in (ex.crds if ex else {}).items():
            index.setdefault(key, []).append((ex, spec))
    return index


def manifest_errors(where: str, manifest: Any, index: dict[tuple[str, str], list[tuple[Extract, dict[str, Any]]]]) -> list[str]:
    if not isinstance(manifest, dict):
        return [f"{where}: manifest is not an object"]
    key = (str(manifest.get("apiVersion")), str(manifest.get("kind")))
    served = index.get(key)
    if not served:
        return [
            f"{where}: no CRD extract of an installed chart version serves {key[0]} {key[1]}: add the CRD to "
            f"tests/data/charts/<chart>/<pinned version>/crds/ (SOURCES in scripts/refresh_chart_data.py)"
        ]
    out = []
    for ex, spec in served:
        if not spec.get("served"):
            out.append(f"{where}: {key[0]} {key[1]} is not served by chart {ex.chart} {ex.version}")
            continue
        schema = copy.deepcopy(spec["openAPIV3Schema"])
        schema.setdefault("properties", {})["metadata"] = OBJECT_META
        validator = Validator(schema, structural=True, check_required=True)
        out += [f"{where}: {key[1]} {e} (CRD of chart {ex.chart} {ex.version}, {ex.where})" for e in validator.errors(manifest, schema, "")]
    return out


def kubernetes_manifests(synth: Synth) -> Iterator[tuple[str, Any]]:
    for stack_name in synth:
        for name, cfg in synth[stack_name].get("resource", {}).get("kubernetes_manifest", {}).items():
            yield f"{stack_name} kubernetes_manifest.{name}", cfg.get("manifest")


# ------------------------------------------------------------------------------------------------------
# The synthesized environments
# ------------------------------------------------------------------------------------------------------

ENVIRONMENTS = ("prod", "staging")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_helm_release_sets_only_values_its_pinned_chart_has(env, request):
    synth: Synth = request.getfixturevalue(env)
    releases = list(helm_releases(synth))
    assert releases, f"{env}: no helm_release in any stack"
    errors = [e for r in releases for e in release_errors(r)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_eks_addon_configuration_matches_the_chart_it_is_built_from(env, request):
    synth: Synth = request.getfixturevalue(env)
    errors = [e for r in addon_configurations(synth) for e in release_errors(r)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_kubernetes_manifest_matches_the_crd_of_its_pinned_chart(env, request):
    synth: Synth = request.getfixturevalue(env)
    manifests = list(kubernetes_manifests(synth))
    assert manifests, f"{env}: no kubernetes_manifest in any stack"
    index = crd_index(synth)
    errors = [e for where, m in manifests for e in manifest_errors(where, m, index)]
    assert not errors, "\n".join(errors)


# ------------------------------------------------------------------------------------------------------
# The checks can fail: copies of the real objects with one mistake
# ------------------------------------------------------------------------------------------------------


def _real_release(prod: Synth, chart: str) -> Release:
    found = [r for r in helm_releases(prod) if r.chart == chart]
    assert found, f"no {chart} release in prod"
    return found[0]


def _with(release: Release, document: Any) -> Release:
    return Release(release.where, release.chart, release.version, [document])


def _rename(doc: dict[str, Any], path: str, new_key: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node[p]
    node[new_key] = node.pop(last)
    return doc


@pytest.mark.parametrize(
    ("chart", "path", "misspelled", "reported"),
    [
        ("aws-load-balancer-controller", "serviceAccount", "serviceAcount", "serviceAcount"),
        ("cluster-autoscaler", "autoDiscovery.clusterName", "clusterNmae", "autoDiscovery.clusterNmae"),
        ("cluster-autoscaler", "rbac.serviceAccount", "serviceAcount", "rbac.serviceAcount"),
        ("aws-ebs-csi-driver", "controller.k8sTagClusterId", "k8sTagClusterID", "controller.k8sTagClusterID"),
        ("external-secrets", "installCRDs", "installCrds", "installCrds"),
        ("metrics-server", "podDisruptionBudget.maxUnavailable", "maxUnavailabel", "podDisruptionBudget.maxUnavailabel"),
    ],
)
def test_a_misspelled_helm_value_fails_with_its_path(prod, chart, path, misspelled, reported):
    real = _real_release(prod, chart)
    assert not release_errors(real)
    errors = release_errors(_with(real, _rename(real.documents[0], path, misspelled)))
    assert errors and all(reported in e for e in errors), errors
    assert f"{reported}: chart {chart} {real.version} has no such value" in errors[0]


def test_a_value_of_the_wrong_shape_or_type_fails(prod):
    ca = _real_release(prod, "cluster-autoscaler")
    doc = copy.deepcopy(ca.documents[0])
    doc["autoDiscovery"] = "globalpay-prod-cluster"  # a map in the chart
    assert any("autoDiscovery: chart cluster-autoscaler" in e and "expects a map" in e for e in release_errors(_with(ca, doc)))
    # values.schema.json of the EBS CSI chart: a boolean where a string is set is refused by Helm itself.
    ebs = _real_release(prod, "aws-ebs-csi-driver")
    doc = copy.deepcopy(ebs.documents[0])
    doc["controller"]["serviceAccount"]["create"] = "yes"
    assert any("controller.serviceAccount.create: must be boolean" in e for e in release_errors(_with(ebs, doc)))


def test_open_maps_and_terraform_tokens_are_accepted(prod):
    ca = _real_release(prod, "cluster-autoscaler")
    doc = copy.deepcopy(ca.documents[0])
    doc["extraArgs"]["scale-down-delay-after-add"] = "10m"  # extraArgs is passed through (range) by the chart
    doc["podAnnotations"] = {"any/annotation": "x"}  # an empty map in values.yaml
    doc["replicaCount"] = "${var.replicas}"  # unknown until apply
    assert not release_errors(_with(ca, doc))


def test_set_blocks_are_checked_too(prod):
    lbc = _real_release(prod, "aws-load-balancer-controller")
    values = set_entries_to_values([{"name": "serviceAccount.name", "value": "x"}, {"name": "podLabels.app\\.kubernetes\\.io/x", "value": "y"}])
    assert values == {"serviceAccount": {"name": "x"}, "podLabels": {"app.kubernetes.io/x": "y"}}
    assert not release_errors(_with(lbc, values))
    assert release_errors(_with(lbc, set_entries_to_values([{"name": "serviceAcount.name", "value": "x"}])))


def test_a_release_without_an_extract_says_what_to_add(prod):
    real = _real_release(prod, "metrics-server")
    [error] = release_errors(Release(real.where, real.chart, "0.0.0", real.documents))
    assert "add tests/data/charts/metrics-server/0.0.0/" in error and "metrics-server version 0.0.0" in error


def _real_manifest(prod: Synth, kind: str) -> tuple[str, dict[str, Any]]:
    found = [(w, m) for w, m in kubernetes_manifests(prod) if m.get("kind") == kind]
    assert found, f"no {kind} in prod"
    return found[0][0], copy.deepcopy(found[0][1])


@pytest.mark.parametrize(
    ("kind", "mutate", "reported"),
    [
        ("ExternalSecret", lambda m: m["spec"].__setitem__("refreshIntervall", m["spec"].pop("refreshInterval")), "spec.refreshIntervall: unknown field"),
        ("ExternalSecret", lambda m: m["spec"]["data"][0]["remoteRef"].__setitem__("key", 42), "spec.data[0].remoteRef.key: must be string"),
        ("ExternalSecret", lambda m: m["spec"]["target"].__setitem__("creationPolicy", "Owned"), "spec.target.creationPolicy: 'Owned' is not one of"),
        ("ExternalSecret", lambda m: m["spec"]["data"][1]["remoteRef"].pop("key"), "spec.data[1].remoteRef.key: required field missing"),
        ("ExternalSecret", lambda m: m["spec"]["secretStoreRef"].__setitem__("kind", "SecretStores"), "spec.secretStoreRef.kind: 'SecretStores' is not one of"),
        ("ExternalSecret", lambda m: m["metadata"].__setitem__("namespce", "globalpay"), "metadata.namespce: unknown field"),
        ("SecretStore", lambda m: m["spec"]["provider"]["aws"].__setitem__("servce", "SecretsManager"), "spec.provider.aws.servce: unknown field"),
        ("SecretStore", lambda m: m["spec"]["provider"]["aws"].__setitem__("service", "SecretManager"), "spec.provider.aws.service: 'SecretManager' is not one of"),
    ],
)
def test_a_wrong_manifest_field_fails_with_its_path(prod, kind, mutate, reported):
    index = crd_index(prod)
    where, manifest = _real_manifest(prod, kind)
    assert not manifest_errors(where, manifest, index)
    mutate(manifest)
    errors = manifest_errors(where, manifest, index)
    assert errors and any(reported in e for e in errors), errors


def test_a_manifest_no_installed_chart_serves_says_what_to_add(prod):
    where, manifest = _real_manifest(prod, "ExternalSecret")
    manifest["apiVersion"] = "external-secrets.io/v1beta1"
    [error] = manifest_errors(where, manifest, crd_index(prod))
    assert "no CRD extract of an installed chart version serves external-secrets.io/v1beta1 ExternalSecret" in error


ALL_EXTRACTS = sorted((d.parent.name, d.name) for d in DATA.glob("*/*") if (d / "source.json").is_file())


@pytest.mark.parametrize(("chart", "version"), ALL_EXTRACTS, ids=lambda v: str(v))
def test_every_extract_records_its_source_and_rejects_an_unknown_key(chart, version):
    ex = load_extract(chart, version)
    assert ex.source["chart"] == chart and ex.source["version"] == version
    assert re.fullmatch(r"[0-9a-f]{40}", ex.source["commit"]) and ex.source["tag"] and ex.source["files_read"]
    assert value_errors({}, ex) == []
    assert value_errors({"serviceAcount": {"create": True}}, ex)
    for (api_version, kind), spec in ex.crds.items():
        assert spec["served"] and spec["openAPIV3Schema"]["type"] == "object", (api_version, kind)


def test_extracts_for_what_comes_next_accept_realistic_values():
    """The trace collector and CloudWatch add-on configuration another change may add."""
    otel = load_extract("opentelemetry-collector", "0.170.0")
    collector = {
        "mode": "deployment",
        "replicaCount": 2,
        "image": {"repository": "otel/opentelemetry-collector-contrib", "tag": "0.158.0"},
        "config": {"exporters": {"awsxray": {"region": "us-east-1"}}, "service": {"pipelines": {"traces": {"exporters": ["awsxray"]}}}},
        "serviceAccount": {"create": True, "annotations": {"eks.amazonaws.com/role-arn": "${aws_iam_role.x.arn}"}},
        "presets": {"kubernetesAttributes": {"enabled": True}},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    }
    assert value_errors(collector, otel) == []
    collector["presets"]["kubernetesAtributes"] = collector["presets"].pop("kubernetesAttributes")
    collector["mode"] = "deploy"
    errors = value_errors(collector, otel)
    assert any(e.startswith("presets.kubernetesAtributes: chart opentelemetry-collector") for e in errors), errors
    assert any(e.startswith("mode: 'deploy' is not one of") for e in errors), errors

    cloudwatch = load_extract("amazon-cloudwatch-observability", "4.5.0")
    config = {"containerLogs": {"enabled": False}, "tolerations": [{"operator": "Exists"}], "agent": {"resources": {"limits": {"cpu": "500m"}}}}
    assert value_errors(config, cloudwatch) == []
    assert value_errors({"containerLog": {"enabled": False}}, cloudwatch)


# ------------------------------------------------------------------------------------------------------
# Evidence next to every pin
# ------------------------------------------------------------------------------------------------------

EVIDENCE = re.compile(r"evidence:", re.IGNORECASE)
WHERE = re.compile(r"https://\S+|[\w.-]+/[\w.-]+@[\w.+-]+:\S+")


def _pins(source: str) -> list[tuple[str, str, int]]:
    """``(name, version, line)`` of every chart, add-on and image pin in versions.py."""
    pins: list[tuple[str, str, int]] = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        name = getattr(target, "id", "")
        if name in ("HELM_CHARTS", "CLUSTER_AUTOSCALER_IMAGE_TAGS", "EKS_NODE_AMI_RELEASES") and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                version = value.elts[-1] if isinstance(value, ast.Tuple) else value
                pins.append((f"{name}[{ast.literal_eval(key)}]", ast.literal_eval(version), key.lineno))
        elif name == "EKS_ADDONS_BY_KUBERNETES" and isinstance(node.value, ast.Dict):
            for minor, table in zip(node.value.keys, node.value.values, strict=True):
                for key, value in zip(table.keys, table.values, strict=True):  # type: ignore[attr-defined]
                    pins.append((f"EKS_ADDONS[{ast.literal_eval(minor)}][{ast.literal_eval(key)}]", ast.literal_eval(value), key.lineno))
    return pins


def _comment_block(source: str, line: int) -> str:
    """The comment lines directly above ``line`` (1-based) and a trailing comment on it."""
    comments = {t.start[0]: t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT}
    lines = source.splitlines()
    block = [comments.get(line, "")]
    n = line - 1
    while n >= 1 and lines[n - 1].strip().startswith("#"):
        block.insert(0, lines[n - 1].strip())
        n -= 1
    return "\n".join(block)


def evidence_problems(source: str) -> list[str]:
    out = []
    for name, version, line in _pins(source):
        block = _comment_block(source, line)
        if not EVIDENCE.search(block):
            out.append(f"versions.py:{line} {name} {version}: no '# evidence: ...' comment directly above the pin")
        elif version not in block:
            out.append(f"versions.py:{line} {name}: the evidence comment does not name the pinned {version}")
        elif not WHERE.search(block):
            out.append(f"versions.py:{line} {name} {version}: the evidence names no URL or repo@tag:path")
    return out


def test_versions_py_pins_the_charts_and_addons_this_test_knows():
    names = {name for name, _, _ in _pins(VERSIONS_PY.read_text())}
    assert {f"HELM_CHARTS[{c}]" for c in versions.HELM_CHARTS} <= names
    assert {f"EKS_ADDONS[{m}][{a}]" for m, pins in versions.EKS_ADDONS_BY_KUBERNETES.items() for a in pins} <= names
    assert {f"CLUSTER_AUTOSCALER_IMAGE_TAGS[{m}]" for m in versions.CLUSTER_AUTOSCALER_IMAGE_TAGS} <= names
    assert {f"EKS_NODE_AMI_RELEASES[{m}]" for m in versions.EKS_NODE_AMI_RELEASES} <= names


def test_every_pin_has_an_evidence_comment_naming_it():
    problems = evidence_problems(VERSIONS_PY.read_text())
    assert not problems, "\n".join(problems)


def test_a_pin_without_evidence_or_with_stale_evidence_fails():
    source = VERSIONS_PY.read_text()
    unproven = re.sub(r"(?m)^    # evidence: kubernetes-sigs/metrics-server@.*\n(    # .*\n)*", "", source)
    assert unproven != source
    assert evidence_problems(unproven) == [
        f"versions.py:{n} HELM_CHARTS[metrics-server] {v}: no '# evidence: ...' comment directly above the pin"
        for name, v, n in _pins(unproven)
        if name == "HELM_CHARTS[metrics-server]"
    ]
    bumped = source.replace('"metrics-server": ("https://kubernetes-sigs.github.io/metrics-server/", "3.13.1")', '"metrics-server": ("https://kubernetes-sigs.github.io/metrics-server/", "3.13.2")')
    assert bumped != source
    [problem] = evidence_problems(bumped)
    assert "HELM_CHARTS[metrics-server]: the evidence comment does not name the pinned 3.13.2" in problem


@pytest.mark.parametrize("chart", sorted(versions.HELM_CHARTS))
def test_every_pinned_chart_has_an_extract_from_the_index_that_publishes_it(chart):
    repository, version = versions.HELM_CHARTS[chart]
    ex = load_extract(chart, version)
    assert ex is not None, missing_extract(chart, version, f"versions.HELM_CHARTS[{chart!r}]")
    assert ex.source["helm_repository"].rstrip("/") == repository.rstrip("/"), (ex.source["helm_repository"], repository)
    published = ex.source["published_in_index"]
    assert published and published["digest"], f"{chart} {version}: the extract records no chart index entry that publishes it"
