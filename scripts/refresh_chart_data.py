#!/usr/bin/env python3
"""Rewrite one chart's extract under ``tests/data/charts/<chart>/<version>/`` from its source repository.

    python3 scripts/refresh_chart_data.py external-secrets 2.9.0 --git-dir /path/to/external-secrets.git
    python3 scripts/refresh_chart_data.py aws-load-balancer-controller 3.4.2 --git-dir eks-charts.git   # tag searched
    python3 scripts/refresh_chart_data.py --list                # the charts this script knows (SOURCES)

``--git-dir`` is a clone (bare or not) of the chart's public source repository with its tags; the release tag
is derived from the version (``SOURCES``) or, for repositories whose tags do not name the chart version
(aws/eks-charts), the newest tag whose ``Chart.yaml`` carries that version; ``--tag`` overrides both. Needs
PyYAML (the checkov environment has it: ``.venv-checkov/bin/python scripts/refresh_chart_data.py ...``); the
tests only read the JSON this writes.

What it writes (all derived, no file is copied verbatim; ``tests/data/README.md`` explains the format):

* ``source.json``: repository, tag, commit, chart path, the git blob id of every file read, and the chart
  index entry (``index.yaml`` on the repository's ``gh-pages`` branch) that publishes the version, if found;
* ``values.json``: the key skeleton of ``values.yaml``: every key with the type of its default (``{}`` = a map
  left empty = open, ``[]`` = an empty list, ``[{...}]`` = a list whose example items have these keys);
* ``values.schema.json``: the chart's ``values.schema.json`` without its documentation keywords, if it has one;
* ``templates.json``: the absolute ``.Values`` paths the templates read, and the ones they pass through whole
  (``toYaml``, ``range $k, $v :=``): maps and lists whose keys the chart does not interpret;
* ``crds/<group>_<kind>.json``: for the kinds named in ``SOURCES`` (the ones the app creates), the
  ``openAPIV3Schema`` of the listed versions, without descriptions.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "charts"


@dataclass(frozen=True)
class Source:
    """Where a chart lives in its public source repository."""

    repo: str
    chart_dir: str
    #: Release tag as a format string of ``version``; ``None``: search the tags for the Chart.yaml version.
    tag: str | None
    #: The Helm repository that serves the chart (``index.yaml``).
    index: str
    #: ``{apiVersion: {kind: path of the CRD manifest at the tag}}``: CRDs the app creates objects of.
    crds: dict[str, dict[str, str]] = field(default_factory=dict)


SOURCES: dict[str, Source] = {
    "aws-load-balancer-controller": Source(
        "aws/eks-charts", "stable/aws-load-balancer-controller", None, "https://aws.github.io/eks-charts"
    ),
    "aws-vpc-cni": Source("aws/eks-charts", "stable/aws-vpc-cni", None, "https://aws.github.io/eks-charts"),
    "cluster-autoscaler": Source(
        "kubernetes/autoscaler",
        "cluster-autoscaler/charts/cluster-autoscaler",
        "cluster-autoscaler-chart-{version}",
        "https://kubernetes.github.io/autoscaler",
    ),
    "aws-ebs-csi-driver": Source(
        "kubernetes-sigs/aws-ebs-csi-driver",
        "charts/aws-ebs-csi-driver",
        "helm-chart-aws-ebs-csi-driver-{version}",
        "https://kubernetes-sigs.github.io/aws-ebs-csi-driver",
    ),
    "external-secrets": Source(
        "external-secrets/external-secrets",
        "deploy/charts/external-secrets",
        "helm-chart-{version}",
        "https://charts.external-secrets.io",
        # The chart's templates/crds are generated from these (controller-gen output, plain YAML).
        crds={
            "external-secrets.io/v1": {
                "ExternalSecret": "config/crds/bases/external-secrets.io_externalsecrets.yaml",
                "SecretStore": "config/crds/bases/external-secrets.io_secretstores.yaml",
            }
        },
    ),
    "metrics-server": Source(
        "kubernetes-sigs/metrics-server",
        "charts/metrics-server",
        "metrics-server-helm-chart-{version}",
        "https://kubernetes-sigs.github.io/metrics-server/",
    ),
    "amazon-cloudwatch-observability": Source(
        "aws-observability/helm-charts",
        "charts/amazon-cloudwatch-observability",
        "amazon-cloudwatch-observability-{version}",
        "https://aws-observability.github.io/helm-charts",
    ),
    "opentelemetry-collector": Source(
        "open-telemetry/opentelemetry-helm-charts",
        "charts/opentelemetry-collector",
        "opentelemetry-collector-{version}",
        "https://open-telemetry.github.io/opentelemetry-helm-charts",
    ),
}

#: JSON-schema keywords that only document (dropped); property *names* are never dropped.
DOC_KEYWORDS = frozenset({"description", "title", "examples", "example", "default", "$comment", "markdownDescription"})
#: Keywords whose value maps names to schemas (their keys are names, not keywords).
NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


# ------------------------------------------------------------------------------------------------------
# git
# ------------------------------------------------------------------------------------------------------


class Repo:
    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def exists(self, rev: str, path: str) -> bool:
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "cat-file", "-e", f"{rev}:{path}"], capture_output=True, check=False
        ).returncode == 0

    def show(self, rev: str, path: str) -> str:
        return self.git("show", f"{rev}:{path}")

    def blob(self, rev: str, path: str) -> str:
        return self.git("rev-parse", f"{rev}:{path}").strip()

    def ls(self, rev: str, path: str) -> list[str]:
        return [p for p in self.git("ls-tree", "-r", "--name-only", rev, "--", path).splitlines() if p]


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - environment guidance
        raise SystemExit("PyYAML is needed: run with .venv-checkov/bin/python (or any Python with PyYAML)") from None
    return yaml


def find_tag(repo: Repo, source: Source, version: str) -> str:
    if source.tag:
        return source.tag.format(version=version)
    yaml = _yaml()
    chart_yaml = f"{source.chart_dir}/Chart.yaml"
    for tag in repo.git("tag", "--sort=-creatordate").split():
        if repo.exists(tag, chart_yaml) and str(yaml.safe_load(repo.show(tag, chart_yaml)).get("version")) == version:
            return tag
    raise SystemExit(f"no tag of {source.repo} has {chart_yaml} at version {version}")


def index_entry(repo: Repo, chart: str, version: str) -> dict[str, Any] | None:
    """The chart index entry (gh-pages:index.yaml) that publishes ``chart`` ``version``, if the clone has it."""
    for ref in ("gh-pages", "origin/gh-pages", "refs/remotes/origin/gh-pages"):
        if repo.exists(ref, "index.yaml"):
            entries = _yaml().safe_load(repo.show(ref, "index.yaml")).get("entries", {})
            for entry in entries.get(chart, []):
                if str(entry.get("version")) == version:
                    commit = repo.git("rev-parse", ref).strip()
                    return {
                        "ref": f"gh-pages@{commit}",
                        "created": str(entry.get("created", "")),
                        "digest": entry.get("digest", ""),
                        "appVersion": str(entry.get("appVersion", "")),
                        "urls": entry.get("urls", []),
                    }
            return None
    return None


# ------------------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------------------


def skeleton(node: Any) -> Any:
    """The key structure of a values document, scalars replaced by their type name."""
    if isinstance(node, dict):
        return {str(k): skeleton(v) for k, v in node.items()}
    if isinstance(node, list):
        items = [skeleton(x) for x in node]
        maps = [i for i in items if isinstance(i, dict)]
        if maps:
            merged: dict[str, Any] = {}
            for item in maps:
                _merge(merged, item)
            return [merged]
        return sorted({i for i in items if isinstance(i, str)})
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "boolean"
    if isinstance(node, int):
        return "integer"
    if isinstance(node, float):
        return "number"
    return "string"


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for k, v in other.items():
        if isinstance(into.get(k), dict) and isinstance(v, dict):
            _merge(into[k], v)
        elif k not in into or into[k] in ("null", {}, []):
            into[k] = v


def reduce_schema(node: Any, *, names: bool = False) -> Any:
    """A JSON schema without its documentation keywords (names under ``properties`` & co. are kept)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if not names and k in DOC_KEYWORDS:
                continue
            out[k] = reduce_schema(v, names=(not names and k in NAME_MAPS))
        return out
    if isinstance(node, list):
        return [reduce_schema(x) for x in node]
    return node


_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z0-9_]+)+)")
_INDEX = re.compile(r"index\s+\$?\.Values((?:\s+\"[^\"]+\")+)")
_ACTION = re.compile(r"{{-?(.*?)-?}}", re.DOTALL)
#: Functions that hand a value on whole (its keys are not read by the chart, so any key passes through), and
#: ``range $k, $v := <map>``.
_WHOLE_FUNCS = re.compile(
    r"\b(?:toYaml|toJson|toPrettyJson|toRawJson|deepCopy|mustDeepCopy|merge|mustMerge|mergeOverwrite|"
    r"mustMergeOverwrite)\b|\brange\s+\$\w+\s*,\s*\$\w+\s*:="
)
_WITH = re.compile(r"^\s*with\s+\$?\.Values((?:\.[A-Za-z0-9_]+)+)\s*$")
_WITH_WHOLE = re.compile(r"(?:toYaml|toJson|range\s+\$\w+\s*,\s*\$\w+\s*:=)\s*\.\s*(?:[|}]|$)")


def template_paths(texts: list[str]) -> dict[str, list[str]]:
    """Absolute ``.Values`` paths the templates read, and those they pass through whole."""
    referenced: set[str] = set()
    whole: set[str] = set()
    for text in texts:
        referenced.update(m.group(1)[1:] for m in _REF.finditer(text))
        for m in _INDEX.finditer(text):
            referenced.add(".".join(re.findall(r"\"([^\"]+)\"", m.group(1))))
        actions = list(_ACTION.finditer(text))
        for i, action in enumerate(actions):
            body = action.group(1)
            if _WHOLE_FUNCS.search(body):
                whole.update(m.group(1)[1:] for m in _REF.finditer(body))
            with_value = _WITH.match(body)
            if with_value:
                # {{ with .Values.x }} ... {{ toYaml . }} ... {{ end }} (the first end: nested blocks end the scan)
                for later in actions[i + 1 :]:
                    if re.match(r"^\s*end\s*$", later.group(1)):
                        break
                    if _WITH_WHOLE.search(later.group(0)):
                        whole.add(with_value.group(1)[1:])
                        break
    return {"referenced": sorted(referenced), "passed_through": sorted(whole)}


# ------------------------------------------------------------------------------------------------------
# Writing one extract
# ------------------------------------------------------------------------------------------------------


def dump(path: Path, data: Any, *, compact: bool = False) -> None:
    """Sorted JSON; ``compact`` (one line) for the large CRD schemas, indented for what reviewers read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, sort_keys=True, separators=(",", ":")) if compact else json.dumps(data, indent=1, sort_keys=True)
    path.write_text(text + "\n")


def refresh(chart: str, version: str, repo: Repo, tag: str | None = None) -> Path:
    source = SOURCES[chart]
    yaml = _yaml()
    tag = tag or find_tag(repo, source, version)
    chart_yaml = yaml.safe_load(repo.show(tag, f"{source.chart_dir}/Chart.yaml"))
    if str(chart_yaml.get("version")) != version or chart_yaml.get("name") != chart:
        raise SystemExit(f"{source.repo}@{tag}:{source.chart_dir}/Chart.yaml is {chart_yaml.get('name')} {chart_yaml.get('version')}")
    out = DATA / chart / version
    if out.exists():
        for old in sorted(out.rglob("*.json"), reverse=True):
            old.unlink()
    files: dict[str, str] = {}

    def read(path: str) -> str:
        files[path] = repo.blob(tag, path)
        return repo.show(tag, path)

    read(f"{source.chart_dir}/Chart.yaml")
    dump(out / "values.json", skeleton(yaml.safe_load(read(f"{source.chart_dir}/values.yaml")) or {}))
    if repo.exists(tag, f"{source.chart_dir}/values.schema.json"):
        dump(out / "values.schema.json", reduce_schema(json.loads(read(f"{source.chart_dir}/values.schema.json"))))
    templates = [p for p in repo.ls(tag, f"{source.chart_dir}/templates") if p.endswith((".yaml", ".yml", ".tpl", ".txt"))]
    dump(out / "templates.json", template_paths([repo.show(tag, p) for p in templates]))
    crd_files = []
    for api_version, kinds in source.crds.items():
        group, _, served = api_version.partition("/")
        for kind, path in kinds.items():
            crd = yaml.safe_load(read(path))
            assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind, (path, group, kind)
            versions = {
                v["name"]: {
                    "served": v.get("served", False),
                    "storage": v.get("storage", False),
                    "openAPIV3Schema": reduce_schema(v["schema"]["openAPIV3Schema"]),
                }
                for v in crd["spec"]["versions"]
                if v["name"] == served
            }
            name = f"crds/{group}_{kind}.json"
            dump(out / name, {"group": group, "kind": kind, "plural": crd["spec"]["names"]["plural"], "versions": versions}, compact=True)
            crd_files.append(name)
    dump(
        out / "source.json",
        {
            "chart": chart,
            "version": version,
            "appVersion": str(chart_yaml.get("appVersion", "")),
            "repository": f"https://github.com/{source.repo}",
            "tag": tag,
            "commit": repo.git("rev-list", "-n", "1", tag).strip(),
            "chart_dir": source.chart_dir,
            "files_read": files,
            "templates_read": len(templates),
            "crds": sorted(crd_files),
            "helm_repository": source.index,
            "published_in_index": index_entry(repo, chart, version),
            "refresh": f"python3 scripts/refresh_chart_data.py {chart} {version} --git-dir <clone of {source.repo}>",
        },
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chart", nargs="?", choices=sorted(SOURCES))
    parser.add_argument("version", nargs="?")
    parser.add_argument("--git-dir", type=Path, help="clone of the chart's source repository, with tags")
    parser.add_argument("--tag", help="release tag (default: derived from the version)")
    parser.add_argument("--list", action="store_true", help="print the known charts and their repositories")
    args = parser.parse_args(argv)
    if args.list:
        for name, source in sorted(SOURCES.items()):
            print(f"{name:34} {source.repo:44} {source.chart_dir}  tag {source.tag or '(searched)'}")
        return 0
    if not (args.chart and args.version and args.git_dir):
        parser.error("chart, version and --git-dir are required")
    out = refresh(args.chart, args.version, Repo(args.git_dir), args.tag)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
