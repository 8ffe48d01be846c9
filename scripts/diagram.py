#!/usr/bin/env python
"""Draw the architecture from the synthesized stacks: an overview and one detailed picture per region.

    python scripts/diagram.py                       # read cdktf.out (run `python3 tasks.py synth` first)
    python scripts/diagram.py --synth-dir DIR       # another synthesis (e.g. a staging one)
    python scripts/diagram.py --check               # exit 1 if docs/images differs from what would be drawn
    python scripts/diagram.py --png /tmp/pictures   # also write PNG previews there (never committed)
    python scripts/diagram.py --dot -               # print the Graphviz DOT of every picture only

Writes docs/images/architecture.svg (the overview the README shows: regions, global layer, cross-region links)
and docs/images/architecture-<region>.svg (subnets, endpoints, EKS, data stores, buckets, edge of one region,
each part tagged with the stack, i.e. Terraform workspace, that holds it).

Why from the JSON and not from the Python configuration: the JSON is what Terraform applies, so a picture
drawn from it cannot show a replica, a peering or a bucket that is not really there, and it changes in the
same commit as the code that changes the infrastructure. Nothing here knows the stack classes: it reads
resource types and their attributes, so stacks other engineers add show up without touching this file.

Why the SVGs are byte-identical on every machine (tests/test_diagram.py regenerates and compares them): every
collection is sorted before it is drawn (Python's set order changes with PYTHONHASHSEED), nothing machine-
specific (paths, dates, account ids other than the synthesized ones) goes into the DOT, and Graphviz runs as
pinned WebAssembly (npm @viz-js/viz, scripts/diagram.mjs) with its built-in font metrics, so the layout does
not depend on installed fonts or a system `dot`. PNGs come from a native rasterizer whose pixels may differ
across platforms: they are previews (--png) only, the README shows the SVG.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.synthesis import Item, Synthesis  # noqa: E402  (after the sys.path entry above)

IMAGES = ROOT / "docs" / "images"
NODE_HELPER = ROOT / "scripts" / "diagram.mjs"
GLOBAL = "global"
OVERVIEW = "architecture"  # docs/images/architecture.svg; the region pictures are architecture-<region>.svg

#: Data store resource types and how the diagram names them (the test checks every one present is drawn).
DATA_STORE_TYPES = {
    "aws_db_instance": "RDS",
    "aws_rds_cluster": "Aurora",
    "aws_elasticache_replication_group": "ElastiCache",
    "aws_msk_cluster": "MSK",
    "aws_s3_bucket": "S3",
    "aws_ecr_repository": "ECR",
    "aws_dynamodb_table": "DynamoDB",
}

#: The font Graphviz measures text with (its built-in metrics) and the fallbacks a viewer without DejaVu gets:
#: Bitstream Vera has the same metrics, Verdana nearly, Arial and Helvetica are narrower, so text always fits.
FONT = "DejaVu Sans"
FONT_STACK = "DejaVu Sans,Bitstream Vera Sans,Verdana,Arial,Helvetica,sans-serif"

COLORS = {
    "compute": "#fde7c7", "db": "#d6e4f5", "cache": "#f9d6d5", "stream": "#e6dcf2", "bucket": "#dff0d8",
    "edge": "#fff3b0", "net": "#eeeeee", "global": "#ffe0b2", "keys": "#e8e8e8", "security": "#fbe3ee",
}
#: Colours of the cross-region links, by what they carry (the same in every picture).
LINK_COLORS = {
    "rds": "#1f5fa8", "s3": "#2e7d32", "state": "#2e7d32", "ecr": "#7b3fa0", "tgw": "#555555", "failover": "#c0392b",
    "health": "#c0392b", "findings": "#ad1457",
}
#: Product names of RDS engines, for the overview.
ENGINES = {"postgres": "PostgreSQL", "aurora-postgresql": "Aurora PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}
REGION_ORDER = {"us-east-1": 0, "eu-west-1": 1, "ap-southeast-2": 2}

# ------------------------------------------------------------------------------------------------------
# Reading the synthesis
# ------------------------------------------------------------------------------------------------------


def load(outdir: Path) -> list[Item]:
    """Every resource and data source of the synthesis in ``outdir``, in the shared reader's stable order (stack,
    resources before data, type, name; ``constructs_lib/synthesis.py``)."""
    return Synthesis.load(outdir).items


# ------------------------------------------------------------------------------------------------------
# The model: nodes per region, edges
# ------------------------------------------------------------------------------------------------------


@dataclass
class Node:
    """One box of the region pictures. ``summary`` is its one-line form in the overview."""

    id: str
    kind: str  # tier, eks, nodegroup, addons, workloads, rds, aurora, redis, msk, ddb, s3, ecr, kms, tgw, waf, alb, ...
    title: str
    lines: list[str]
    region: str  # a region, or GLOBAL
    group: str  # row of the region picture (REGION_ROWS), or GLOBAL
    stacks: list[str] = field(default_factory=list)  # short stack names (core, apps, edge, bootstrap, ...)
    shape: str = "box"
    color: str = "#dddddd"
    summary: str = ""


@dataclass(frozen=True)
class Edge:
    """A link; ``kind`` names what a cross-region link carries (rds, s3, state, ecr, tgw, failover)."""

    src: str
    dst: str
    label: str = ""
    cross_region: bool = False
    style: str = "solid"
    kind: str = ""
    stack: str = ""  # short name of the stack holding the resource that makes the link


@dataclass
class Model:
    """What the pictures show, built from the JSON only (see build_model)."""

    env: str = "?"
    stack_count: int = 0
    regions: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    vpcs: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    data_stores: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    #: Full stack (workspace) name -> short name, for the legends.
    stack_names: dict[str, str] = field(default_factory=dict)
    #: The region of the global stack's default provider.
    global_home: str = "?"

    def add(self, node: Node) -> Node:
        """Add ``node`` unless a node with its id exists; return the node kept (stacks are merged)."""
        kept = self.nodes.setdefault(node.id, node)
        for stack in node.stacks:
            if stack not in kept.stacks:
                kept.stacks.append(stack)
        return kept

    def link(self, src: str | None, dst: str | None, label: str = "", *, cross: bool = False, style: str = "solid",
             kind: str = "", stack: str = "") -> None:
        """Add an edge between two existing nodes (silently nothing if either end is missing)."""
        if src and dst and src in self.nodes and dst in self.nodes:
            edge = Edge(src, dst, label, cross, style, kind, stack)
            if edge not in self.edges:
                self.edges.append(edge)

    def of_kind(self, kind: str) -> list[Node]:
        """Every node of one kind, in insertion order."""
        return [n for n in self.nodes.values() if n.kind == kind]

    def of(self, region: str, *kinds: str) -> list[Node]:
        """The nodes of ``region`` of the given kinds, in insertion (= JSON) order."""
        return [n for n in self.nodes.values() if n.region == region and n.kind in kinds]


def _nid(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _ref_name(expression: Any, rtype: str) -> str | None:
    m = re.search(rf"\$\{{(?:data\.)?{re.escape(rtype)}\.([^.}}]+)", str(expression))
    return m[1] if m else None


def _one(value: Any) -> dict[str, Any]:
    """A nested block, whether cdktf wrote it as an object or as a one-element list."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def short_stack(stack: str, regions: Iterable[str]) -> str:
    """``globalpay-prod-us-east-1-apps`` -> ``apps``, ``...-us-east-1`` -> ``core``, ``...-mesh`` -> ``mesh``."""
    rest = re.sub(r"^globalpay-[a-z0-9]+-", "", stack)
    for region in regions:
        if rest == region:
            return "core"
        if rest.startswith(region + "-"):
            return rest[len(region) + 1:]
    return rest


def _detection(model: Model, by_type: dict[str, list[Item]], st: Any) -> None:
    """GuardDuty, Security Hub, AWS Config, Inspector, Access Analyzer, the trail and the finding rules of a region."""
    kinds = ("aws_guardduty_detector", "aws_guardduty_malware_protection_plan", "aws_securityhub_account",
             "aws_config_configuration_recorder", "aws_config_conformance_pack", "aws_inspector2_enabler",
             "aws_accessanalyzer_analyzer", "aws_cloudtrail", "aws_cloudwatch_event_rule")
    per_region: dict[str, list[Item]] = defaultdict(list)
    for rtype in kinds:
        for item in by_type[rtype]:
            per_region[item.region].append(item)
    for region, found in sorted(per_region.items()):
        of = {rtype: [i for i in found if i.rtype == rtype] for rtype in kinds}
        lines = []
        features = [i for i in by_type["aws_guardduty_detector_feature"] if i.region == region]
        if of["aws_guardduty_detector"]:
            lines.append(f"GuardDuty: {_plural(len(features), 'protection')}")
        if of["aws_guardduty_malware_protection_plan"]:
            lines.append(f"malware scan: {_plural(len(of['aws_guardduty_malware_protection_plan']), 'bucket')}")
        if of["aws_securityhub_account"]:
            standards = sorted(str(s.config.get("standards_arn", "")).split("standards/")[-1].split("/v/")[0]
                               for s in by_type["aws_securityhub_standards_subscription"] if s.region == region)
            lines.append("Security Hub: " + ", ".join(standards))
        if of["aws_config_configuration_recorder"] or of["aws_config_conformance_pack"]:
            lines.append("AWS Config" + (" + PCI DSS pack" if of["aws_config_conformance_pack"] else ""))
        if of["aws_inspector2_enabler"]:
            lines.append("Inspector: " + ", ".join(sorted(t for i in of["aws_inspector2_enabler"] for t in i.config.get("resource_types", []))))
        if of["aws_accessanalyzer_analyzer"]:
            lines.append("IAM Access Analyzer")
        if of["aws_cloudtrail"]:
            lines.append("CloudTrail: multi-region trail")
        if of["aws_cloudwatch_event_rule"]:
            lines.append(f"{_plural(len(of['aws_cloudwatch_event_rule']), 'finding rule')} -> security topic")
        model.add(Node(_nid(region, "detection"), "detection", "Detection and response", lines, region, "regional",
                       st(*found), "note", COLORS["security"], "GuardDuty, Security Hub\nConfig, Inspector" + (", trail" if of["aws_cloudtrail"] else "")))
    for aggregator in by_type["aws_securityhub_finding_aggregator"]:
        for linked in sorted(aggregator.config.get("specified_regions") or []):
            model.link(_nid(linked, "detection"), _nid(aggregator.region, "detection"), "Security Hub findings", cross=True,
                       kind="findings", stack=model.stack_names[aggregator.stack])


def build_model(items: list[Item]) -> Model:
    """Nodes and edges from resource types and attributes; every collection is walked in sorted order."""
    model = Model()
    res = [i for i in items if i.kind == "resource"]
    by_type: dict[str, list[Item]] = defaultdict(list)
    for item in res:
        by_type[item.rtype].append(item)
    region_set = {i.region for i in res if i.region in REGION_ORDER or i.rtype == "aws_vpc"}
    model.regions = sorted(region_set, key=lambda r: (REGION_ORDER.get(r, 50), r))
    stacks = sorted({i.stack for i in items})
    model.stack_count = len(stacks)
    model.stack_names = {s: short_stack(s, model.regions) for s in stacks}
    envs = sorted({m[1] for s in stacks if (m := re.match(r"globalpay-([a-z0-9]+)-", s))})
    model.env = ", ".join(envs) or "?"

    homes = sorted({i.region for i in items if model.stack_names[i.stack] == GLOBAL and "provider" not in i.config})
    model.global_home = ", ".join(homes) or "?"

    def st(*found: Item) -> list[str]:
        return sorted({model.stack_names[i.stack] for i in found})

    # Network: VPC, subnet tiers, NAT, endpoints, transit gateway.
    for vpc in by_type["aws_vpc"]:
        model.vpcs[vpc.region] = vpc.config.get("cidr_block", "?")
    tiers: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for subnet in by_type["aws_subnet"]:
        tier = (subnet.config.get("tags") or {}).get("Tier") or ("public" if subnet.config.get("map_public_ip_on_launch") else "private")
        tier = {"database": "db", "data": "db"}.get(tier, tier)  # the region picture's tier boxes: public, private, db
        tiers[(subnet.region, tier)].append(subnet)
    nat: dict[str, list[Item]] = defaultdict(list)
    for n in by_type["aws_nat_gateway"]:
        nat[n.region].append(n)
    endpoints: dict[str, list[Item]] = defaultdict(list)
    for e in by_type["aws_vpc_endpoint"]:
        endpoints[e.region].append(e)
    tier_order = {"public": 0, "private": 1, "db": 2}
    for (region, tier), subnets in sorted(tiers.items(), key=lambda kv: (kv[0][0], tier_order.get(kv[0][1], 9), kv[0][1])):
        cidrs = sorted((s.config.get("cidr_block", "?") for s in subnets), key=_cidr_key)
        model.add(Node(_nid(region, "tier", tier), "tier", f"{tier} subnets x{len(subnets)}", [" ".join(cidrs)],
                       region, tier, st(*subnets), "folder", COLORS["net"]))
    for region, found in sorted(nat.items()):
        model.add(Node(_nid(region, "nat"), "nat", _plural(len(found), "NAT gateway"), ["one per AZ"] if len(found) > 1 else [],
                       region, "public", st(*found), "box", COLORS["net"]))
    for region, found in sorted(endpoints.items()):
        services = sorted({str(e.config.get("service_name", "?")).removeprefix(f"com.amazonaws.{region}.") for e in found})
        kinds = sorted({str(e.config.get("vpc_endpoint_type", "Interface")).lower() for e in found})
        model.add(Node(_nid(region, "endpoints"), "endpoints", f"{_plural(len(found), 'VPC endpoint')} ({', '.join(kinds)})",
                       textwrap.wrap(", ".join(services), 44), region, "private", st(*found), "box", COLORS["net"]))
    for tgw in by_type["aws_ec2_transit_gateway"]:
        model.add(Node(_nid(tgw.region, "tgw"), "tgw", "Transit gateway", [], tgw.region, "transit", st(tgw),
                       "hexagon", COLORS["net"], "Transit gateway"))

    # Compute: EKS, its node group, the Helm add-ons and the workloads of the -addons and -apps stacks.
    for cluster in by_type["aws_eks_cluster"]:
        version = cluster.config.get("version", "?")
        model.add(Node(_nid(cluster.region, "eks", cluster.name), "eks", f"EKS {cluster.config.get('name', '')}",
                       [f"Kubernetes {version}"], cluster.region, "private", st(cluster), "box3d", COLORS["compute"],
                       f"EKS {version}"))
    for group in by_type["aws_eks_node_group"]:
        scaling = _one(group.config.get("scaling_config"))
        types = ", ".join(group.config.get("instance_types") or ["?"])
        size = f"{scaling.get('desired_size', '?')} x {types} ({scaling.get('min_size', '?')}-{scaling.get('max_size', '?')})"
        cluster = _ref_name(group.config.get("cluster_name"), "aws_eks_cluster")
        node = model.add(Node(_nid(group.region, "nodes", group.name), "nodegroup", "node group", [size], group.region,
                              "private", st(group), "box", COLORS["compute"], size))
        if cluster:
            model.link(_nid(group.region, "eks", cluster), node.id)
    helm: dict[str, list[Item]] = defaultdict(list)
    for release in by_type["helm_release"]:
        helm[release.region].append(release)
    for region, releases in sorted(helm.items()):
        names = sorted(str(r.config.get("name", r.name)) for r in releases)
        model.add(Node(_nid(region, "addons"), "addons", f"Helm add-ons ({len(names)})", names, region, "k8s",
                       st(*releases), "component", COLORS["compute"]))
    workloads: dict[str, list[Item]] = defaultdict(list)
    for deployment in by_type["kubernetes_deployment_v1"] + by_type["kubernetes_deployment"]:
        workloads[deployment.region].append(deployment)
    for region, deployments in sorted(workloads.items()):
        names = sorted(str(_one(d.config.get("metadata")).get("name", d.name)) for d in deployments)
        model.add(Node(_nid(region, "workloads"), "workloads", f"Deployments ({len(names)})", names, region, "k8s",
                       st(*deployments), "component", COLORS["compute"]))
    for region in model.regions:
        for eks in model.of(region, "eks"):
            for other in model.of(region, "addons", "workloads"):
                model.link(other.id, eks.id, style="dashed")

    # Data stores.
    db_ids: dict[str, str] = {}
    for db in by_type["aws_db_instance"]:
        c = db.config
        ident = c.get("identifier", db.name)
        source = str(c.get("replicate_source_db") or "")
        src_region = m[1] if (m := re.search(r":rds:([a-z0-9-]+):", source)) else db.region
        engine = f"{c.get('engine', '')} {c.get('engine_version', '')}".strip()
        product = ENGINES.get(str(c.get("engine", "")), str(c.get("engine", "")))
        if not source:
            role = "writer" + (", Multi-AZ" if c.get("multi_az") else "")
            summary = f"{product} {role}"
        elif src_region != db.region:
            role, summary = f"cross-region read replica of {src_region}", f"{product} read replica"
        else:
            role, summary = "read replica", "+ read replica"
        node = model.add(Node(_nid(db.region, "rds", ident), "rds", f"RDS {ident}",
                              [f"{engine}, {c.get('instance_class', '?')}", role], db.region, "db", st(db), "cylinder",
                              COLORS["db"], summary))
        db_ids[ident] = node.id
        model.data_stores["aws_db_instance"].append(ident)
    for cl in by_type["aws_rds_cluster"]:
        ident = cl.config.get("cluster_identifier", cl.name)
        engine = str(cl.config.get("engine", ""))
        model.add(Node(_nid(cl.region, "aurora", ident), "aurora", f"Aurora {ident}", [engine], cl.region, "db",
                       st(cl), "cylinder", COLORS["db"], f"Aurora {engine}"))
        model.data_stores["aws_rds_cluster"].append(ident)
    for cache in by_type["aws_elasticache_replication_group"]:
        c = cache.config
        ident = c.get("replication_group_id", cache.name)
        count = c.get("num_cache_clusters") or "?"
        engine = f"{c.get('engine', 'redis')} {c.get('engine_version', '')}".strip()
        model.add(Node(_nid(cache.region, "redis", ident), "redis", f"ElastiCache {ident}",
                       [f"{engine}: {count} x {c.get('node_type', '?')}"], cache.region, "stream", st(cache), "cylinder",
                       COLORS["cache"], engine.capitalize()))
        model.data_stores["aws_elasticache_replication_group"].append(ident)
    for msk in by_type["aws_msk_cluster"]:
        c = msk.config
        ident = c.get("cluster_name", msk.name)
        version = str(c.get("kafka_version", "?")).replace(".x.kraft", " (KRaft)")
        info = _one(c.get("broker_node_group_info"))
        model.add(Node(_nid(msk.region, "msk", ident), "msk", f"MSK {ident}",
                       [f"Kafka {version}: {c.get('number_of_broker_nodes', '?')} x {info.get('instance_type', '?')}"],
                       msk.region, "stream", st(msk), "cylinder", COLORS["stream"], f"Kafka {version.split()[0]}"))
        model.data_stores["aws_msk_cluster"].append(ident)
    for table in by_type["aws_dynamodb_table"]:
        ident = table.config.get("name", table.name)
        model.add(Node(_nid(table.region, "ddb", ident), "ddb", f"DynamoDB {ident}", [], table.region, "regional",
                       st(table), "cylinder", COLORS["db"], "DynamoDB"))
        model.data_stores["aws_dynamodb_table"].append(ident)
    bucket_ids: dict[str, str] = {}
    bucket_by_resource: dict[tuple[str, str], str] = {}
    buckets: dict[str, list[Item]] = defaultdict(list)
    for bucket in by_type["aws_s3_bucket"]:
        name = bucket.config.get("bucket", bucket.name)
        # Where the bucket is, whichever stack holds it: the global stack's buckets are drawn in their region
        # (tagged "global"), so that every region picture shows every bucket that lives there.
        region = bucket.region
        buckets[region].append(bucket)
        bucket_ids[name] = _nid(region, "s3")
        bucket_by_resource[(bucket.stack, bucket.name)] = _nid(region, "s3")
        model.data_stores["aws_s3_bucket"].append(name)
    for region, found in sorted(buckets.items()):
        # One node per region keeps the picture narrow; every bucket is still named in it.
        names = sorted(str(b.config.get("bucket", b.name)) for b in found)
        model.add(Node(_nid(region, "s3"), "s3", f"S3 buckets ({len(names)})", names, region, "regional",
                       st(*found), "folder", COLORS["bucket"],
                       f"S3: {_plural(len(names), 'bucket')}"))
    ecr_regions: dict[str, str] = {}
    repos: dict[str, list[Item]] = defaultdict(list)
    for repo in by_type["aws_ecr_repository"]:
        repos[repo.region].append(repo)
        model.data_stores["aws_ecr_repository"].append(repo.config.get("name", repo.name))
    for region, found in sorted(repos.items()):
        names = sorted(str(r.config.get("name", r.name)) for r in found)
        node = model.add(Node(_nid(region, "ecr"), "ecr", f"ECR ({len(names)})", names, region, "regional", st(*found),
                              "folder", COLORS["bucket"], f"ECR: {_plural(len(names), 'repository').replace('repositorys', 'repositories')}"))
        ecr_regions[region] = node.id
    keys: dict[str, list[Item]] = defaultdict(list)
    for alias in by_type["aws_kms_alias"]:
        keys[alias.region].append(alias)
    for region in model.regions:
        if keys[region]:
            names = sorted({str(a.config.get("name", a.name)).removeprefix("alias/") for a in keys[region]})
            model.add(Node(_nid(region, "kms"), "kms", f"KMS keys ({len(names)})", names, region, "regional",
                           st(*keys[region]), "note", COLORS["keys"]))

    # Detection and response: one node per region (the -security stack), the findings aggregation between them.
    _detection(model, by_type, st)

    # Edge: WAF, ALB (an aws_lb, or the ingress ALB the AWS Load Balancer Controller creates), Shield.
    for acl in by_type["aws_wafv2_web_acl"]:
        scope = acl.config.get("scope", "REGIONAL")
        region = acl.region if scope == "REGIONAL" else GLOBAL
        rules = len(acl.config.get("rule") or [])
        model.add(Node(_nid(region, "waf", acl.name), "waf", f"WAF {acl.config.get('name', '')}",
                       [f"{_plural(rules, 'rule')} ({scope.lower()})"], region, "edge" if region != GLOBAL else "global",
                       st(acl), "octagon", COLORS["edge"], "WAF"))
    albs: dict[str, list[Item]] = defaultdict(list)
    for lb in by_type["aws_lb"] + by_type["aws_alb"]:
        albs[lb.region].append(lb)
    for ingress in by_type["kubernetes_ingress_v1"]:
        annotations = _one(ingress.config.get("metadata")).get("annotations") or {}
        if any(k.startswith("alb.ingress.kubernetes.io/") for k in annotations):
            albs[ingress.region].append(ingress)
    shields: dict[str, list[Item]] = defaultdict(list)
    for protection in by_type["aws_shield_protection"]:
        shields[protection.region].append(protection)
    for region, found in sorted(albs.items()):
        lines = ["internet-facing, TLS 1.3"] if any("ingress" in i.rtype for i in found) else []
        if shields[region]:
            lines.append("Shield Advanced protection")
        alb = model.add(Node(_nid(region, "alb"), "alb", "ALB (Kubernetes ingress)" if lines else "ALB", lines, region,
                             "public", st(*found, *shields[region]), "box", COLORS["edge"],
                             "ALB"))
        for waf in model.of(region, "waf"):
            model.link(waf.id, alb.id, style="dashed")
        for eks in model.of(region, "eks"):
            model.link(alb.id, eks.id)
    for region in model.regions:
        for eks in model.of(region, "eks"):
            for store in model.of(region, "rds", "aurora", "redis", "msk"):
                model.link(eks.id, store.id, style="dotted")
            if region in ecr_regions:
                model.link(ecr_regions[region], eks.id, "images", style="dotted")

    # Global services.
    zones = [i for i in items if i.rtype == "aws_route53_zone"]
    zone_name = next((z.config.get("name") for z in zones if z.config.get("name")), None)
    # Endpoint checks only: the traffic gate's (routing control) and calculated checks are summarized apart.
    all_checks = by_type["aws_route53_health_check"]
    health_checks = [c for c in all_checks if c.config.get("type") not in ("CALCULATED", "RECOVERY_CONTROL")]
    controls = by_type["aws_route53recoverycontrolconfig_routing_control"]
    failover = [r for r in by_type["aws_route53_record"] if r.config.get("failover_routing_policy")]
    if zones or health_checks or by_type["aws_route53_record"]:
        names = sorted({str(r.config.get("name")) for r in failover})
        lines = [_plural(len(health_checks), "health check"), f"failover {' '.join(names)}"]
        if controls:
            lines.append(f"ARC gate: {_plural(len(controls), 'control')}")
        model.add(Node("global_route53", "route53", f"Route 53 {zone_name or ''}".strip(), lines, GLOBAL, "global",
                       st(*all_checks, *by_type["aws_route53_record"], *controls), "box", COLORS["global"]))
    for dist in by_type["aws_cloudfront_distribution"]:
        aliases = ", ".join(dist.config.get("aliases") or [])
        node = model.add(Node(_nid("global", "cloudfront", dist.name), "cloudfront", "CloudFront", [aliases], GLOBAL,
                              "global", st(dist), "box", COLORS["global"]))
        origins = dist.config.get("origin") or []
        for origin in origins if isinstance(origins, list) else [origins]:
            name = _ref_name(origin.get("domain_name"), "aws_s3_bucket")
            target = bucket_by_resource.get((dist.stack, name)) if name else None
            if target:
                model.link(node.id, target, "origin", cross=True, kind="origin", stack=model.stack_names[dist.stack])
                node.lines.append(f"origin: S3 in {model.nodes[target].region}")
        model.link("global_route53", node.id, "alias")
        for waf in model.of(GLOBAL, "waf"):
            model.link(waf.id, node.id, style="dashed")
    if by_type["aws_shield_subscription"]:
        model.add(Node("global_shield", "shield", "Shield Advanced", ["subscription"], GLOBAL, "global",
                       st(*by_type["aws_shield_subscription"]), "octagon", COLORS["edge"]))
    for budget in by_type["aws_budgets_budget"]:
        model.add(Node(_nid("global", "budget", budget.name), "budget", f"Budget {budget.config.get('name', '')}",
                       [f"USD {budget.config.get('limit_amount', '?')} a month"], GLOBAL, "global", st(budget), "note",
                       COLORS["global"]))
    for board in by_type["aws_cloudwatch_dashboard"]:
        if model.stack_names[board.stack] == GLOBAL:
            model.add(Node(_nid("global", "dashboard", board.name), "dashboard", "CloudWatch dashboard",
                           [str(board.config.get("dashboard_name", board.name))], GLOBAL, "global", st(board), "note",
                           COLORS["global"]))

    # Cross-region links.
    for db in by_type["aws_db_instance"]:
        source = db.config.get("replicate_source_db")
        if not source:
            continue
        ident = str(source).split(":")[-1]
        src_region = m[1] if (m := re.search(r":rds:([a-z0-9-]+):", str(source))) else db.region
        model.link(db_ids.get(ident), db_ids.get(db.config.get("identifier", db.name)), "RDS replica",
                   cross=src_region != db.region, kind="rds", stack=model.stack_names[db.stack])
    for repl in by_type["aws_s3_bucket_replication_configuration"]:
        # The source bucket by reference (same stack) or by name (the -edge stack names the core's bucket).
        src_name = _ref_name(repl.config.get("bucket"), "aws_s3_bucket")
        src = bucket_by_resource.get((repl.stack, src_name)) if src_name else bucket_ids.get(str(repl.config.get("bucket")))
        stack = model.stack_names[repl.stack]
        kind = "state" if stack == "bootstrap" else "s3"
        for rule in repl.config.get("rule") or []:
            dest = str(_one(rule.get("destination")).get("bucket", "")).rsplit(":", 1)[-1]
            if bucket_ids.get(dest) == src:
                continue  # into a bucket of the same region (the logs' write-once archive): named in its S3 box
            model.link(src, bucket_ids.get(dest), "state replica" if kind == "state" else "S3 replication",
                       cross=True, kind=kind, stack=stack)
    for repl in by_type["aws_ecr_replication_configuration"]:
        for rule in _one(repl.config.get("replication_configuration")).get("rule") or []:
            for dest in rule.get("destination") or []:
                region = dest.get("region")
                if region and region not in ecr_regions and region in model.regions:
                    ecr_regions[region] = model.add(Node(_nid(region, "ecr"), "ecr", "ECR", [f"images replicated from {repl.region}"], region,
                                                         "regional", [], "folder", COLORS["bucket"], "ECR: replicated images")).id
                    for eks in model.of(region, "eks"):
                        model.link(ecr_regions[region], eks.id, "images", style="dotted")
                model.link(ecr_regions.get(repl.region), ecr_regions.get(region or ""), "ECR replication", cross=True,
                           kind="ecr", stack=model.stack_names[repl.stack])
    peers: dict[str, set[str]] = defaultdict(set)
    for peering in by_type["aws_ec2_transit_gateway_peering_attachment"]:
        peer = str(peering.config.get("peer_region", ""))
        model.link(_nid(peering.region, "tgw"), _nid(peer, "tgw"), "TGW peering",
                   cross=True, kind="tgw", stack=model.stack_names[peering.stack])
        peers[peering.region].add(peer)
        peers[peer].add(peering.region)
    for tgw in model.of_kind("tgw"):
        others = sorted(peers[tgw.region], key=lambda r: (REGION_ORDER.get(r, 50), r))
        if others:
            tgw.lines = [f"peered with {', '.join(others)}"]
            mesh = all(peers[r] >= set(model.regions) - {r} for r in model.regions)
            tgw.summary = "Transit gateway" + ("\nfull-mesh peering" if mesh else "")
    lbs = {i.name: i.region for i in items if i.kind == "data" and i.rtype == "aws_lb"}
    for record in failover:
        policy = _one(record.config["failover_routing_policy"])
        lb = _ref_name(_one(record.config.get("alias")).get("name"), "aws_lb")
        region = lbs.get(lb or "") or record.config.get("set_identifier")
        model.link("global_route53", _nid(region or "", "alb"), f"failover {policy.get('type', '').lower()}", cross=True,
                   kind="failover", stack=model.stack_names[record.stack])

    # Health checks of the ALBs that no failover record points at (the tertiary region's).
    failover_targets = {e.dst for e in model.edges if e.kind == "failover"}
    for check in health_checks:
        lb = _ref_name(check.config.get("fqdn"), "aws_lb")
        target = _nid(lbs.get(lb or "", ""), "alb")
        if lb and target not in failover_targets:
            model.link("global_route53", target, "health check", cross=True, style="dashed", kind="health",
                       stack=model.stack_names[check.stack])

    # Region roles, from the data itself: the writer's region is primary, the cross-region replica's secondary
    # (else Route 53's failover records say it), every other region tertiary (no database of its own).
    for db in by_type["aws_db_instance"] + by_type["aws_rds_cluster"]:
        if not db.config.get("replicate_source_db") and not db.config.get("replication_source_identifier"):
            model.roles.setdefault(db.region, "primary")
    for db in by_type["aws_db_instance"] + by_type["aws_rds_cluster"]:
        if db.config.get("replicate_source_db") or db.config.get("replication_source_identifier"):
            model.roles.setdefault(db.region, "secondary")
    for edge in model.edges:
        if edge.kind == "failover":
            model.roles.setdefault(model.nodes[edge.dst].region, edge.label.split()[-1])
    for region in model.regions:
        model.roles.setdefault(region, "tertiary")
    return model


def _cidr_key(cidr: str) -> tuple[int, ...]:
    """Sort 10.0.2.0/24 before 10.0.11.0/24."""
    return tuple(int(p) for p in re.findall(r"\d+", cidr)) or (0,)


# ------------------------------------------------------------------------------------------------------
# DOT
# ------------------------------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A quoted DOT string; a newline becomes a centred line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _label(title: str, lines: Iterable[str] = (), note: str = "", *, size: int = 11) -> str:
    """An HTML-like Graphviz label: bold title, plain lines, an optional small grey note (the stacks)."""
    parts = [f"<B>{_h(title)}</B>"] + [_h(line) for line in lines]
    if note:
        parts.append(f'<FONT POINT-SIZE="{size - 2}" COLOR="#666666">{_h(note)}</FONT>')
    return f'<<FONT POINT-SIZE="{size}">' + "<BR/>".join(parts) + "</FONT>>"


def _stacks_note(stacks: list[str]) -> str:
    return ("stack: " if len(stacks) == 1 else "stacks: ") + ", ".join(stacks) if stacks else ""


def _region_title(model: Model, region: str) -> str:
    return f"{region} ({model.roles[region]})" if region in model.roles else region


def _header(name: str, title: str, *, size: int, ranksep: float, nodesep: float) -> list[str]:
    return [
        f"digraph {name} {{",
        f'  graph [fontname="{FONT}", fontsize={size + 8}, label={_q(title)}, labelloc=t, rankdir=TB, newrank=true, '
        f"compound=true, nodesep={nodesep}, ranksep={ranksep}, splines=spline, bgcolor=white, pad=0.2];",
        f'  node [fontname="{FONT}", fontsize={size}, style=filled, shape=box, margin="0.12,0.06", penwidth=1.2];',
        f'  edge [fontname="{FONT}", fontsize={size - 1}, color="#666666", arrowsize=0.8];',
    ]


def _edge_attrs(edge: Edge, label: str = "", note: str = "", *, size: int) -> list[str]:
    """Style of an edge: cross-region links coloured by what they carry, with a label and a small grey note."""
    attrs = []
    color = LINK_COLORS.get(edge.kind, "#c0392b") if edge.cross_region else ""
    if label and note:
        attrs.append(f'label=<{_h(label)}<BR/><FONT POINT-SIZE="{size - 2}" COLOR="#666666">{_h(note)}</FONT>>')
    elif label:
        attrs.append(f"label={_q(label)}")
    if color:
        attrs += [f"color={_q(color)}", f"fontcolor={_q(color)}", "penwidth=1.8"]
    if edge.style != "solid":
        attrs.append(f"style={edge.style}")
    if edge.kind == "tgw":
        attrs.append("dir=both")
    return attrs


#: Rows of a region picture, top to bottom, and the box each is drawn in: the region, or a subnet tier of its VPC.
REGION_ROWS = {
    "edge": "region", "public": "public", "private": "private", "k8s": "private", "stream": "private", "db": "db",
    "transit": "region", "regional": "region",
}


def region_dot(model: Model, region: str) -> str:
    """One region in rows: WAF; the VPC with its subnet tiers as boxes (public: ALB, NAT; private: EKS, node
    group, endpoints, add-ons, workloads, ElastiCache, MSK; db: RDS); transit gateway; regional services. The
    global services and the other regions it links to are small boxes above and below. Every part is tagged
    with the stack (workspace) that holds it; a legend gives the stacks' full names."""
    size = 12
    title = f"GlobalPay {model.env}: {_region_title(model, region)}, generated from the synthesized stacks"
    out = _header(_nid("region", region), title, size=size, ranksep=0.35, nodesep=0.3)
    members = {row: [n for n in model.nodes.values() if n.region == region and n.group == row and n.kind != "tier"]
               for row in REGION_ROWS}
    tiers = {n.group: n for n in model.of(region, "tier")}

    def node_line(n: Node, indent: str) -> str:
        label = _label(n.title, n.lines, _stacks_note(n.stacks), size=size)
        return f"{indent}{n.id} [label={label}, shape={n.shape}, fillcolor={_q(n.color)}];"

    out.append(f"  subgraph cluster_{_nid(region)} {{")
    out.append(f'    label={_q(_region_title(model, region))}; labeljust=l; style="rounded,filled"; fillcolor="#f4f8fc"; '
               f'color="#4a7ab0"; fontsize=18;')
    for row, box in REGION_ROWS.items():
        if box == "region":
            out.extend(node_line(n, "    ") for n in members[row])
    out.append(f"    subgraph cluster_{_nid(region)}_vpc {{")
    out.append(f'      label={_q("VPC " + model.vpcs.get(region, ""))}; style="dashed"; color="#7a7a7a"; fontsize=14;')
    for tier in ("public", "private", "db"):
        rows = [row for row, box in REGION_ROWS.items() if box == tier and members[row]]
        if not rows and tier not in tiers:
            continue
        out.append(f"      subgraph cluster_{_nid(region, tier)} {{")
        tier_node = tiers.get(tier)
        label = (_label(tier_node.title, tier_node.lines, _stacks_note(tier_node.stacks), size=size)
                 if tier_node else _q(f"{tier} subnets"))
        out.append(f'        label={label}; labeljust=c; style="filled"; fillcolor="#ffffff"; color="#9a9a9a";')
        for row in rows:
            out.extend(node_line(n, "        ") for n in members[row])
        if not rows:  # an empty tier (the db subnets of a region without a database) still gets its box
            empty = "no database" if tier == "db" else "no resources"
            out.append(f'        {_nid(region, tier, "empty")} [label={_q(empty)}, shape=plaintext, style=""];')
            members[tier] = [Node(_nid(region, tier, "empty"), "empty", "", [], region, tier)]
        out.append("      }")
    out.append("    }")
    for row in REGION_ROWS:
        if members[row]:
            out.append("    { rank=same; " + " ".join(n.id for n in members[row]) + " }")
    # Stack the rows top to bottom with invisible edges between the first node of consecutive rows.
    firsts = [members[row][0].id for row in REGION_ROWS if members[row]]
    for a, b in itertools.pairwise(firsts):
        out.append(f"    {a} -> {b} [style=invis, weight=10];")
    out.append("  }")

    # The other end of every cross-region link: the global services above, the other regions below.
    local = {n.id for n in model.nodes.values() if n.region == region}
    links: list[tuple[Edge, str, str]] = []
    stubs: dict[str, str] = {}  # stub id -> region (or GLOBAL)
    global_names: list[str] = []
    for e in model.edges:
        if e.src in local and e.dst in local:
            links.append((e, e.src, e.dst))
        elif e.cross_region and (e.src in local or e.dst in local):
            other = model.nodes[e.dst if e.src in local else e.src]
            stub = _nid("stub", other.region)
            stubs[stub] = other.region
            if other.region == GLOBAL and other.title not in global_names:
                global_names.append(other.title)
            links.append((e, e.src if e.src in local else stub, e.dst if e.dst in local else stub))
    top = []
    if GLOBAL in stubs.values():
        out.append(f"  {_nid('stub', GLOBAL)} [label={_label(GLOBAL, global_names, 'see the overview', size=size)}, "
                   f'fillcolor={_q(COLORS["global"])}, color="#e0a040", style="rounded,filled", href="{OVERVIEW}.svg"];')
        top.append(_nid("stub", GLOBAL))
    legend = _stack_legend(model, region)
    if legend:
        out.append(f'  legend [shape=plaintext, style="", label={_label("Stacks (Terraform workspaces)", legend, size=size - 1)}];')
        top.append("legend")
    if top:
        out.append("  { rank=min; " + " ".join(top) + " }")
        if firsts:
            out.extend(f"  {t} -> {firsts[0]} [style=invis];" for t in top)
    others = [r for r in model.regions if _nid("stub", r) in stubs]
    for other in others:
        label = _label(_region_title(model, other), [], f"architecture-{other}.svg", size=size)
        out.append(f'  {_nid("stub", other)} [label={label}, fillcolor="#f4f8fc", color="#4a7ab0", '
                   f'style="rounded,filled", href="{OVERVIEW}-{other}.svg"];')
    if others:
        out.append("  { rank=max; " + " ".join(_nid("stub", o) for o in others) + " }")
    for e, src, dst in links:
        note = f"stack: {e.stack}" if e.cross_region and e.stack else ""
        out.append(f"  {src} -> {dst} [{', '.join(_edge_attrs(e, e.label, note, size=size))}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _stack_legend(model: Model, region: str) -> list[str]:
    """``core = globalpay-prod-us-east-1`` lines for the stacks named in this region's picture."""
    shown = {s for n in model.nodes.values() if n.region == region for s in n.stacks}
    shown |= {e.stack for e in model.edges if e.cross_region and e.stack and region in (
        model.nodes[e.src].region, model.nodes[e.dst].region)}
    order = ["keys", "core", "security", "addons", "apps", "edge", "bootstrap", "mesh", GLOBAL]
    lines = {}
    for full, short in model.stack_names.items():
        if short in shown and (short_stack(full, [region]) == short or short in ("bootstrap", "mesh", GLOBAL)):
            lines[short] = f"{short} = {full}"
    return [lines[s] for s in sorted(lines, key=lambda s: (order.index(s) if s in order else 99, s))]


#: The overview's rows inside every region box, and the node kinds summarized in each.
OVERVIEW_BLOCKS = {
    "edge": ("waf", "alb"),
    "compute": ("eks", "nodegroup"),
    "data": ("rds", "aurora", "redis", "msk", "ddb"),
    "s3": ("s3",),
    "ecr": ("ecr",),
    "network": ("tgw",),
    "detection": ("detection",),
}
OVERVIEW_COLORS = {"edge": COLORS["edge"], "compute": COLORS["compute"], "data": COLORS["db"], "s3": COLORS["bucket"],
                   "ecr": COLORS["bucket"], "network": COLORS["net"], "detection": COLORS["security"]}
#: How the overview labels a cross-region link, by kind; ``(one way, both ways)``.
OVERVIEW_LINK_NAMES = {"rds": ("RDS replica", "RDS replica"), "s3": ("S3 data copy", "S3 data"),
                       "state": ("Terraform state", "Terraform state"), "ecr": ("ECR images", "ECR images"),
                       "tgw": ("TGW peering", "TGW peering"), "findings": ("findings", "findings")}


def overview_order(model: Model) -> list[str]:
    """Regions left to right with the primary in the middle: nearly every cross-region link touches it
    (replica, replication both ways, the tertiary copy, images, state), so almost none has to jump a region."""
    regions = list(model.regions)
    primary = next((r for r in regions if model.roles.get(r) == "primary"), None)
    if primary is None or len(regions) < 3:
        return regions
    rest = [r for r in regions if r != primary]
    return [*rest[:1], primary, *rest[1:]]


def _overview_lines(model: Model, region: str, block: str, nodes: list[Node]) -> list[str]:
    """The text of one block of a region box: databases one per line, the other stores on one line."""
    if block == "data":
        lines = [n.summary for n in nodes if n.kind in ("rds", "aurora")]
        if not lines:
            lines = ["no database"]
        others = [n.summary for n in nodes if n.kind not in ("rds", "aurora") and n.summary]
        return lines + ([", ".join(others)] if others else [])
    if block == "edge":
        shielded = any("Shield Advanced protection" in n.lines for n in nodes)
        return [" + ".join(n.summary for n in nodes)] + (["Shield Advanced"] if shielded else [])
    return [line for n in nodes if n.summary for line in n.summary.split("\n")]


def _global_blocks(nodes: list[Node]) -> list[tuple[str, list[Node], list[str]]]:
    """The global layer in four boxes: DNS failover, static content, DDoS protection, cost and monitoring."""
    def of(*kinds: str) -> list[Node]:
        return [n for n in nodes if n.kind in kinds]

    blocks = []  # left to right; Route 53 second, so that it sits above the middle (primary) region
    if cdn := of("cloudfront"):
        blocks.append(("cloudfront", of("cloudfront", "waf"),
                       ["CloudFront" + (" + WAF" if of("waf") else ""), *[line for n in cdn for line in n.lines]]))
    if route53 := of("route53"):
        blocks.append(("route53", route53, ["Route 53", *[line for n in route53 for line in n.lines]]))
    if shield := of("shield"):
        blocks.append(("shield", shield, ["Shield Advanced", "subscription"]))
    if ops := of("budget", "dashboard"):
        blocks.append(("ops", ops, [line for n in ops for line in (
            [f"Budget {n.lines[0].replace(' a month', '/month')}"] if n.kind == "budget" else [n.title])]))
    return blocks


def overview_dot(model: Model) -> str:
    """The regions as boxes with a few lines per building block, the global layer above, the cross-region
    links aggregated per pair of boxes and kind (one arrow, one short label), sized to be read at page width."""
    size = 16
    title = f"GlobalPay {model.env}: {len(model.regions)} regions and the global layer (from {model.stack_count} synthesized stacks)"
    out = _header("overview", title, size=size, ranksep=0.3, nodesep=0.4)
    out[1] = out[1].replace(f"fontsize={size + 8}", f"fontsize={size + 6}")
    block_of: dict[str, str] = {}  # model node id -> overview box id
    order = overview_order(model)
    firsts: dict[str, str] = {}
    for region in order:
        out.append(f"  subgraph cluster_{_nid(region)} {{")
        # The title is a node, not the cluster's label: dot reserves a cluster label's height in every cluster
        # of the rank, which left an empty band in the global box.
        vpc = [f"VPC {model.vpcs[region]}"] if region in model.vpcs else []
        out.append(f'    label=""; style="rounded,filled"; fillcolor="#f4f8fc"; color="#4a7ab0"; href="{OVERVIEW}-{region}.svg";')
        previous = _nid("ov", region, "title")
        firsts[region] = previous
        out.append(f"    {previous} [label={_label(_region_title(model, region), vpc, size=size + 2)}, shape=plaintext, "
                   'style="", margin=0];')
        for block, kinds in OVERVIEW_BLOCKS.items():
            found = model.of(region, *kinds)
            lines = _overview_lines(model, region, block, found)
            if not lines:
                continue
            box = _nid("ov", region, block)
            block_of.update({n.id: box for n in found})
            shape = {"data": "cylinder", "network": "hexagon"}.get(block, "box")
            out.append(f"    {box} [label={_label(lines[0], lines[1:], size=size)}, fillcolor={_q(OVERVIEW_COLORS[block])}, "
                       f"shape={shape}, width=3.4];")
            out.append(f"    {previous} -> {box} [style=invis, weight=10];")
            previous = box
        out.append("  }")
    for block in ("title", *OVERVIEW_BLOCKS):
        ids = [_nid("ov", r, block) for r in order if _nid("ov", r, block) in {*block_of.values(), *firsts.values()}]
        if ids:
            out.append("  { rank=same; " + " ".join(ids) + " }")

    # The global layer: one row of boxes above the regions.
    blocks = _global_blocks([n for n in model.nodes.values() if n.region == GLOBAL])
    if blocks:
        out.append("  subgraph cluster_global {")
        out.append(f"    label=<<FONT POINT-SIZE=\"{size + 2}\"><B>global</B> (managed from {_h(model.global_home)})</FONT>>; "
                   'style="rounded,filled"; fillcolor="#fff8ee"; color="#e0a040";')
        for name, found, lines in blocks:
            box = _nid("ov", GLOBAL, name)
            block_of.update({n.id: box for n in found})
            color = COLORS["edge"] if name == "shield" else COLORS["global"]
            out.append(f"    {box} [label={_label(lines[0], lines[1:], size=size)}, fillcolor={_q(color)}];")
        ids = [_nid("ov", GLOBAL, name) for name, _, _ in blocks]
        out.append("    { rank=min; " + " ".join(ids) + " }")
        out.extend(f"    {a} -> {b} [style=invis];" for a, b in itertools.pairwise(ids))  # keeps this order
        out.append("  }")
        out.extend(f"  {ids[min(1, len(ids) - 1)]} -> {firsts[r]} [style=invis];" for r in order if r in firsts)

    # Cross-region links: one arrow per pair of boxes and kind, drawn left to right (dot stacks the labels of
    # parallel edges; opposite ones would overlap), the arrowheads saying which way the data goes.
    position = {r: i for i, r in enumerate(order)} | {GLOBAL: -1}
    merged: dict[tuple[str, str, str], set[bool]] = {}
    sample: dict[tuple[str, str, str], Edge] = {}
    for e in model.edges:
        if not e.cross_region or e.src not in block_of or e.dst not in block_of or e.kind == "origin":
            continue  # (CloudFront's origin bucket is named in its box instead)
        src, dst = block_of[e.src], block_of[e.dst]
        if model.nodes[e.src].region == GLOBAL and model.nodes[e.dst].region in firsts:
            # Down from the global layer to the region box's title (the arrow stops at the box, lhead): the label
            # then sits between the layers instead of forcing the edge around the region boxes.
            dst = firsts[model.nodes[e.dst].region]
        forward = position[model.nodes[e.src].region] <= position[model.nodes[e.dst].region]
        key = (src, dst, e.kind) if forward else (dst, src, e.kind)
        merged.setdefault(key, set()).add(forward)
        sample.setdefault(key, e)
    for (src, dst, kind), directions in merged.items():
        e = sample[(src, dst, kind)]
        both = len(directions) == 2 or kind == "tgw"
        label = e.label if kind in ("failover", "health") else OVERVIEW_LINK_NAMES.get(kind, (e.label, e.label))[both]
        regions = (model.nodes[e.src].region, model.nodes[e.dst].region)
        if kind not in ("failover", "health") and abs(position[regions[0]] - position[regions[1]]) > 1:
            # A label on an edge that jumps over a region box makes dot add an empty band at the top of the
            # picture: the transit gateway boxes say "full-mesh peering" instead; other kinds keep a floating label.
            label = "" if kind == "tgw" else label
            attrs = [a.replace("label=", "xlabel=", 1) for a in _edge_attrs(e, label, size=size) if a != "dir=both"]
        else:
            attrs = [a for a in _edge_attrs(e, label, size=size) if a != "dir=both"]
        attrs.append("dir=both" if both else ("dir=forward" if True in directions else "dir=back"))
        if kind not in ("failover", "health"):
            attrs.append("constraint=false")
        elif dst.endswith("_title"):
            attrs.append(f"lhead=cluster_{dst.removeprefix('ov_').removesuffix('_title')}")
        out.append(f"  {src} -> {dst} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def pictures(model: Model) -> dict[str, str]:
    """File name (without .svg) -> DOT, for every picture: the overview and one per region."""
    dots = {OVERVIEW: overview_dot(model)}
    for region in model.regions:
        dots[f"{OVERVIEW}-{region}"] = region_dot(model, region)
    return dots


# ------------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------------


def _node(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run scripts/diagram.mjs once for a list of jobs (see there); raises if node_modules is missing."""
    if not (ROOT / "node_modules" / "@viz-js" / "viz").exists():
        raise FileNotFoundError("node_modules/@viz-js/viz is missing: run `python3 tasks.py install` (npm ci)")
    done = subprocess.run(["node", str(NODE_HELPER)], cwd=ROOT, input=json.dumps(jobs), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/diagram.mjs failed:\n{done.stderr}")
    if done.stderr:
        sys.stderr.write(done.stderr)
    return json.loads(done.stdout)


def finish_svg(svg: str) -> str:
    """Graphviz's SVG with a font fallback list, so viewers without DejaVu Sans get a font at least as narrow."""
    return svg.replace(f'font-family="{FONT}"', f'font-family="{FONT_STACK}"')


def render_svgs(dots: dict[str, str]) -> dict[str, str]:
    """Name -> SVG text for every DOT, in one run of the WebAssembly Graphviz."""
    results = _node([{"dot": dot} for dot in dots.values()])
    return {name: finish_svg(result["svg"]) for name, result in zip(dots, results, strict=True)}


def render_pngs(svgs: dict[str, str], folder: Path, width: int = 1800) -> list[Path]:
    """PNG previews of the SVGs (``width`` pixels wide), for looking at; not byte-stable across platforms."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [{"svg": svg, "png": str((folder / f"{name}.png").resolve()), "width": width} for name, svg in svgs.items()]
    return [Path(r["png"]) for r in _node(jobs)]


def svg_size(svg: str) -> tuple[float, float]:
    """Width and height in points, from the root element."""
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return (float(m[1]), float(m[2])) if m else (0.0, 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth-dir", type=Path, default=ROOT / "cdktf.out", help="cdktf output folder (default: cdktf.out)")
    parser.add_argument("--out", type=Path, default=IMAGES, help="folder of the SVGs (default: docs/images)")
    parser.add_argument("--png", type=Path, help="also write PNG previews into this folder (not byte-stable: never commit)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if an SVG in --out differs")
    parser.add_argument("--dot", help="print ('-') or write into this folder the DOT of every picture, and do not render")
    args = parser.parse_args(argv)
    if not (args.synth_dir / "stacks").is_dir():
        print(f"{args.synth_dir}/stacks not found: run `python3 tasks.py synth` (or main.py --out DIR) first", file=sys.stderr)
        return 2
    model = build_model(load(args.synth_dir))
    dots = pictures(model)
    if args.dot:
        if args.dot == "-":
            sys.stdout.write("".join(dots.values()))  # several graphs in one file: `dot -Tsvg -O` takes them all
        else:
            Path(args.dot).mkdir(parents=True, exist_ok=True)
            for name, dot in dots.items():
                (Path(args.dot) / f"{name}.dot").write_text(dot)
        return 0
    svgs = render_svgs(dots)
    if args.check:
        stale = sorted(name for name, svg in svgs.items()
                       if not (args.out / f"{name}.svg").exists() or (args.out / f"{name}.svg").read_text() != svg)
        for name in stale:
            print(f"{args.out / name}.svg is not what {args.synth_dir} draws: run `python3 tasks.py diagram`", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(args.out.glob(f"{OVERVIEW}-*.svg")):
        if stale.stem not in svgs:  # the picture of a region the synthesis no longer has
            stale.unlink()
            print(f"removed {stale}")
    for name, svg in svgs.items():
        with open(args.out / f"{name}.svg", "w", encoding="utf-8", newline="\n") as handle:
            handle.write(svg)
        width, height = svg_size(svg)
        print(f"wrote {args.out / name}.svg ({width:.0f} x {height:.0f} pt)")
    if args.png:
        for path in render_pngs(svgs, args.png):
            print(f"wrote {path} (preview)")
    print(f"{len(model.nodes)} nodes, {len(model.edges)} links, regions: {', '.join(model.regions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
