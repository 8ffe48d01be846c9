#!/usr/bin/env python
"""Draw the architecture from the synthesized stacks: docs/images/architecture.svg and .png.

    python scripts/diagram.py                       # read cdktf.out (run `python3 tasks.py synth` first)
    python scripts/diagram.py --synth-dir DIR       # another synthesis (e.g. a staging one)
    python scripts/diagram.py --dot -               # print the Graphviz DOT only

Why from the JSON and not from the Python configuration: the JSON is what Terraform applies, so a picture
drawn from it cannot show a replica, a peering or a bucket that is not really there, and it changes in the
same commit as the code that changes the infrastructure. Nothing here knows the stack classes: it reads
resource types and their attributes, so stacks other engineers add show up without touching this file.

Rendering uses Graphviz compiled to WebAssembly (npm @viz-js/viz) and resvg for the PNG, driven by
scripts/diagram.mjs; both are pinned in package.json, so no system `dot` is needed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
NODE_HELPER = ROOT / "scripts" / "diagram.mjs"
GLOBAL = "global"

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

# ------------------------------------------------------------------------------------------------------
# Reading the synthesis
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A resource or data source, with the region it lives in."""

    stack: str
    kind: str  # "resource" or "data"
    rtype: str
    name: str
    config: dict[str, Any]
    region: str


def load(outdir: Path) -> list[Item]:
    items: list[Item] = []
    for stack_dir in sorted((outdir / "stacks").iterdir()):
        path = stack_dir / "cdk.tf.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        default, aliases = None, {}
        for provider in data.get("provider", {}).get("aws", []):
            if provider.get("alias"):
                aliases[provider["alias"]] = provider.get("region")
            else:
                default = provider.get("region")
        for kind in ("resource", "data"):
            for rtype, entries in sorted(data.get(kind, {}).items()):
                for name, config in sorted(entries.items()):
                    region = default or "?"
                    provider = config.get("provider")
                    if isinstance(provider, str) and provider.startswith("aws."):
                        region = aliases.get(provider.split(".", 1)[1], region)
                    items.append(Item(stack_dir.name, kind, rtype, name, config, region))
    return items


# ------------------------------------------------------------------------------------------------------
# The model: nodes per region, edges
# ------------------------------------------------------------------------------------------------------


@dataclass
class Node:
    id: str
    label: str
    region: str
    group: str  # "edge", "vpc", "public", "private", "data", "regional", "global"
    shape: str = "box"
    color: str = "#dddddd"


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    cross_region: bool = False
    style: str = "solid"


@dataclass
class Model:
    regions: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    vpcs: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    data_stores: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, node: Node) -> Node:
        self.nodes.setdefault(node.id, node)
        return self.nodes[node.id]

    def link(self, src: str | None, dst: str | None, label: str = "", *, cross: bool = False, style: str = "solid") -> None:
        if src and dst and src in self.nodes and dst in self.nodes:
            edge = Edge(src, dst, label, cross, style)
            if edge not in self.edges:
                self.edges.append(edge)


COLORS = {
    "compute": "#fde7c7", "db": "#d6e4f5", "cache": "#f9d6d5", "stream": "#e6dcf2", "bucket": "#dff0d8",
    "edge": "#fff3b0", "net": "#eeeeee", "global": "#ffe0b2",
}
REGION_ORDER = {"us-east-1": 0, "eu-west-1": 1, "ap-southeast-2": 2}


def _nid(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _ref_name(expression: Any, rtype: str) -> str | None:
    m = re.search(rf"\$\{{(?:data\.)?{re.escape(rtype)}\.([^.}}]+)", str(expression))
    return m[1] if m else None


def build_model(items: list[Item]) -> Model:
    model = Model()
    res = [i for i in items if i.kind == "resource"]
    by_type: dict[str, list[Item]] = defaultdict(list)
    for item in res:
        by_type[item.rtype].append(item)
    region_set = {i.region for i in res if i.region in REGION_ORDER or i.rtype == "aws_vpc"}
    model.regions = sorted(region_set, key=lambda r: (REGION_ORDER.get(r, 50), r))

    # Network: VPC, subnet tiers, NAT, endpoints, transit gateway.
    for vpc in by_type["aws_vpc"]:
        model.vpcs[vpc.region] = vpc.config.get("cidr_block", "?")
    tiers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for subnet in by_type["aws_subnet"]:
        tier = (subnet.config.get("tags") or {}).get("Tier") or ("public" if subnet.config.get("map_public_ip_on_launch") else "private")
        tiers[(subnet.region, tier)].append(subnet.config.get("cidr_block", "?"))
    nat = defaultdict(int)
    for n in by_type["aws_nat_gateway"]:
        nat[n.region] += 1
    endpoints = defaultdict(int)
    for e in by_type["aws_vpc_endpoint"]:
        endpoints[e.region] += 1
    tier_group = {"public": "public", "private": "private", "db": "data", "database": "data"}
    for (region, tier), cidrs in sorted(tiers.items()):
        extra = f"\\n{nat[region]} NAT gateway{'s' if nat[region] != 1 else ''}" if tier == "public" and nat[region] else ""
        if tier == "private" and endpoints[region]:
            extra = f"\\n{endpoints[region]} VPC endpoints"
        model.add(Node(_nid(region, "tier", tier), f"{tier} subnets x{len(cidrs)}\\n{' '.join(sorted(cidrs))}{extra}",
                       region, tier_group.get(tier, "private"), "folder", COLORS["net"]))
    for tgw in by_type["aws_ec2_transit_gateway"]:
        model.add(Node(_nid(tgw.region, "tgw"), "Transit gateway", tgw.region, "transit", "hexagon", COLORS["net"]))

    # Compute.
    for cluster in by_type["aws_eks_cluster"]:
        model.add(Node(_nid(cluster.region, "eks", cluster.name), f"EKS {cluster.config.get('name', '')}\\nKubernetes {cluster.config.get('version', '?')}",
                       cluster.region, "private", "box3d", COLORS["compute"]))
    for group in by_type["aws_eks_node_group"]:
        scaling = group.config.get("scaling_config") or {}
        if isinstance(scaling, list):
            scaling = scaling[0] if scaling else {}
        types = ", ".join(group.config.get("instance_types") or ["?"])
        cluster = _ref_name(group.config.get("cluster_name"), "aws_eks_cluster")
        node = model.add(Node(_nid(group.region, "nodes", group.name),
                              f"node group\\n{scaling.get('desired_size', '?')} x {types} ({scaling.get('min_size', '?')}-{scaling.get('max_size', '?')})",
                              group.region, "private", "box", COLORS["compute"]))
        if cluster:
            model.link(_nid(group.region, "eks", cluster), node.id)

    # Data stores.
    db_ids: dict[str, str] = {}
    for db in by_type["aws_db_instance"]:
        c = db.config
        ident = c.get("identifier", db.name)
        role = "read replica" if c.get("replicate_source_db") else "primary"
        node = model.add(Node(_nid(db.region, "rds", ident), f"RDS {ident}\\n{c.get('engine', '')} {c.get('engine_version', '')}\\n"
                              f"{c.get('instance_class', '?')} {role}{' Multi-AZ' if c.get('multi_az') else ''}",
                              db.region, "data", "cylinder", COLORS["db"]))
        db_ids[ident] = node.id
        model.data_stores["aws_db_instance"].append(ident)
    for cl in by_type["aws_rds_cluster"]:
        ident = cl.config.get("cluster_identifier", cl.name)
        model.add(Node(_nid(cl.region, "aurora", ident), f"Aurora {ident}\\n{cl.config.get('engine', '')}", cl.region, "data", "cylinder", COLORS["db"]))
        model.data_stores["aws_rds_cluster"].append(ident)
    for cache in by_type["aws_elasticache_replication_group"]:
        c = cache.config
        ident = c.get("replication_group_id", cache.name)
        nodes = c.get("num_cache_clusters") or "?"
        model.add(Node(_nid(cache.region, "redis", ident), f"ElastiCache {ident}\\n{c.get('engine', 'redis')} {c.get('engine_version', '')}: {nodes} x {c.get('node_type', '?')}",
                       cache.region, "data", "cylinder", COLORS["cache"]))
        model.data_stores["aws_elasticache_replication_group"].append(ident)
    for msk in by_type["aws_msk_cluster"]:
        c = msk.config
        ident = c.get("cluster_name", msk.name)
        info = c.get("broker_node_group_info") or {}
        model.add(Node(_nid(msk.region, "msk", ident), f"MSK {ident}\\nKafka {c.get('kafka_version', '?')}: {c.get('number_of_broker_nodes', '?')} x {info.get('instance_type', '?')}",
                       msk.region, "data", "cylinder", COLORS["stream"]))
        model.data_stores["aws_msk_cluster"].append(ident)
    for table in by_type["aws_dynamodb_table"]:
        ident = table.config.get("name", table.name)
        model.add(Node(_nid(table.region, "ddb", ident), f"DynamoDB {ident}", table.region, "regional", "cylinder", COLORS["db"]))
        model.data_stores["aws_dynamodb_table"].append(ident)
    bucket_ids: dict[str, str] = {}
    bucket_by_resource: dict[tuple[str, str], str] = {}
    buckets: dict[str, list[str]] = defaultdict(list)
    for bucket in by_type["aws_s3_bucket"]:
        name = bucket.config.get("bucket", bucket.name)
        region = GLOBAL if bucket.stack.endswith("-global") else bucket.region
        node_id = _nid(region, "s3")
        buckets[region].append(name)
        bucket_ids[name] = node_id
        bucket_by_resource[(bucket.stack, bucket.name)] = node_id
        model.data_stores["aws_s3_bucket"].append(name)
    for region, names in buckets.items():
        # One node per region keeps the picture narrow; every bucket is still named in it.
        model.add(Node(_nid(region, "s3"), "S3 buckets\\n" + "\\n".join(sorted(names)), region,
                       "regional" if region != GLOBAL else "global", "folder", COLORS["bucket"]))
    ecr_regions: dict[str, str] = {}
    repos: dict[str, list[str]] = defaultdict(list)
    for repo in by_type["aws_ecr_repository"]:
        repos[repo.region].append(repo.config.get("name", repo.name))
        model.data_stores["aws_ecr_repository"].append(repo.config.get("name", repo.name))
    for region, names in repos.items():
        node = model.add(Node(_nid(region, "ecr"), "ECR\\n" + "\\n".join(sorted(names)), region, "regional", "folder", COLORS["bucket"]))
        ecr_regions[region] = node.id

    # Edge: WAF, ALB (an aws_lb, or the ingress ALB the AWS Load Balancer Controller creates), Shield.
    for acl in by_type["aws_wafv2_web_acl"]:
        scope = acl.config.get("scope", "REGIONAL")
        region = acl.region if scope == "REGIONAL" else GLOBAL
        rules = len(acl.config.get("rule") or [])
        model.add(Node(_nid(region, "waf", acl.name), f"WAF {acl.config.get('name', '')}\\n{rules} rules ({scope.lower()})",
                       region, "edge" if region != GLOBAL else "global", "octagon", COLORS["edge"]))
    alb_regions: set[str] = set()
    for lb in by_type["aws_lb"] + by_type["aws_alb"]:
        alb_regions.add(lb.region)
    for ingress in by_type["kubernetes_ingress_v1"]:
        annotations = (ingress.config.get("metadata") or {}).get("annotations") or {}
        if any(k.startswith("alb.ingress.kubernetes.io/") for k in annotations):
            alb_regions.add(ingress.region)
    shielded = {i.region for i in by_type["aws_shield_protection"]}
    for region in alb_regions:
        label = "ALB (ingress)" + ("\\nShield Advanced protection" if region in shielded else "")
        model.add(Node(_nid(region, "alb"), label, region, "edge", "box", COLORS["edge"]))
        for waf in [n for n in model.nodes.values() if n.region == region and n.id.startswith(_nid(region, "waf"))]:
            model.link(waf.id, _nid(region, "alb"), style="dashed")
        for eks in [n for n in model.nodes.values() if n.region == region and n.id.startswith(_nid(region, "eks"))]:
            model.link(_nid(region, "alb"), eks.id)
    for region in model.regions:
        eks = [n.id for n in model.nodes.values() if n.region == region and n.id.startswith(_nid(region, "eks"))]
        for store in [n.id for n in model.nodes.values() if n.region == region and n.group == "data" and "_tier_" not in n.id]:
            for e in eks:
                model.link(e, store, style="dotted")
        if region in ecr_regions:
            for e in eks:
                model.link(ecr_regions[region], e, "images", style="dotted")

    # Global services.
    zones = [i for i in items if i.rtype in ("aws_route53_zone",)]
    zone_name = next((z.config.get("name") for z in zones if z.config.get("name")), None)
    health_checks = by_type["aws_route53_health_check"]
    failover = [r for r in by_type["aws_route53_record"] if r.config.get("failover_routing_policy")]
    if zones or health_checks or by_type["aws_route53_record"]:
        model.add(Node("global_route53", f"Route 53 {zone_name or ''}\\n{len(health_checks)} health checks, "
                       f"{len(failover)} failover records", GLOBAL, "global", "box", COLORS["global"]))
    for dist in by_type["aws_cloudfront_distribution"]:
        aliases = ", ".join(dist.config.get("aliases") or [])
        node = model.add(Node(_nid("global", "cloudfront", dist.name), f"CloudFront {aliases}", GLOBAL, "global", "box", COLORS["global"]))
        origins = dist.config.get("origin") or []
        for origin in origins if isinstance(origins, list) else [origins]:
            name = _ref_name(origin.get("domain_name"), "aws_s3_bucket")
            target = bucket_by_resource.get((dist.stack, name)) if name else None
            if target:
                model.link(node.id, target, "origin")
        if "global_route53" in model.nodes:
            model.link("global_route53", node.id, "alias")
        for waf in [n.id for n in model.nodes.values() if n.region == GLOBAL and n.id.startswith(_nid(GLOBAL, "waf"))]:
            model.link(waf, node.id, style="dashed")
    if by_type["aws_shield_subscription"]:
        model.add(Node("global_shield", "Shield Advanced\\nsubscription", GLOBAL, "global", "octagon", COLORS["edge"]))
    for budget in by_type["aws_budgets_budget"]:
        model.add(Node(_nid("global", "budget", budget.name), f"Budget {budget.config.get('name', '')}\\nUSD {budget.config.get('limit_amount', '?')}/month",
                       GLOBAL, "global", "note", COLORS["global"]))

    # Cross-region links.
    for db in by_type["aws_db_instance"]:
        source = db.config.get("replicate_source_db")
        if not source:
            continue
        ident = str(source).split(":")[-1]
        src_region = m[1] if (m := re.search(r":rds:([a-z0-9-]+):", str(source))) else db.region
        model.link(db_ids.get(ident), db_ids.get(db.config.get("identifier", db.name)), "RDS replica",
                   cross=src_region != db.region)
    for repl in by_type["aws_s3_bucket_replication_configuration"]:
        # The source bucket by reference (same stack) or by name (the -edge stack names the core's bucket).
        src_name = _ref_name(repl.config.get("bucket"), "aws_s3_bucket")
        src = bucket_by_resource.get((repl.stack, src_name)) if src_name else bucket_ids.get(str(repl.config.get("bucket")))
        for rule in repl.config.get("rule") or []:
            dest = str((rule.get("destination") or {}).get("bucket", "")).rsplit(":", 1)[-1]
            model.link(src, bucket_ids.get(dest), "S3 replication", cross=True)
    for repl in by_type["aws_ecr_replication_configuration"]:
        for rule in ((repl.config.get("replication_configuration") or {}).get("rule") or []):
            for dest in rule.get("destination") or []:
                region = dest.get("region")
                if region and region not in ecr_regions and region in model.regions:
                    ecr_regions[region] = model.add(Node(_nid(region, "ecr"), "ECR (replicated images)", region, "regional",
                                                         "folder", COLORS["bucket"])).id
                    for e in [n.id for n in model.nodes.values() if n.region == region and n.id.startswith(_nid(region, "eks"))]:
                        model.link(ecr_regions[region], e, "images", style="dotted")
                model.link(ecr_regions.get(repl.region), ecr_regions.get(region or ""), "ECR replication", cross=True)
    for peering in by_type["aws_ec2_transit_gateway_peering_attachment"]:
        model.link(_nid(peering.region, "tgw"), _nid(peering.config.get("peer_region", ""), "tgw"), "TGW peering", cross=True)
    lbs = {i.name: i.region for i in items if i.kind == "data" and i.rtype == "aws_lb"}
    for record in failover:
        policy = record.config["failover_routing_policy"]
        policy = policy[0] if isinstance(policy, list) else policy
        alias = record.config.get("alias") or {}
        alias = alias[0] if isinstance(alias, list) else alias
        lb = _ref_name(alias.get("name"), "aws_lb")
        region = lbs.get(lb or "") or record.config.get("set_identifier")
        model.link("global_route53", _nid(region or "", "alb"), f"failover {policy.get('type', '').lower()}", cross=True)

    # Region roles, from the data itself: the writer's region is primary, the cross-region replica's secondary.
    for db in by_type["aws_db_instance"]:
        if not db.config.get("replicate_source_db"):
            model.roles.setdefault(db.region, "primary")
    for db in by_type["aws_db_instance"]:
        if db.config.get("replicate_source_db") and db.region not in model.roles:
            model.roles[db.region] = "secondary"
    return model


# ------------------------------------------------------------------------------------------------------
# DOT
# ------------------------------------------------------------------------------------------------------


def _q(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(model: Model, title: str) -> str:
    """Regions side by side, each in rows: edge (WAF, ALB), public, private (EKS), data, regional services."""
    font = 'fontname="DejaVu Sans"'
    out = [
        "digraph architecture {",
        f'  graph [{font}, fontsize=20, label={_q(title)}, labelloc=t, rankdir=TB, newrank=true, compound=true, '
        'nodesep=0.2, ranksep=0.35, splines=spline, bgcolor=white];',
        f"  node [{font}, fontsize=10, style=filled, shape=box, margin=\"0.10,0.05\"];",
        f"  edge [{font}, fontsize=9, color=\"#666666\"];",
    ]

    def node_line(n: Node, indent: str) -> str:
        return f"{indent}{n.id} [label={_q(n.label)}, shape={n.shape}, fillcolor={_q(n.color)}];"

    global_nodes = [n for n in model.nodes.values() if n.region == GLOBAL]
    if global_nodes:
        out.append("  subgraph cluster_global {")
        out.append(f'    label="global (managed from us-east-1)"; style="rounded,filled"; fillcolor="#fff8ee"; color="#e0a040"; {font}; fontsize=16;')
        out.append("    { rank=min; " + " ".join(n.id for n in global_nodes) + " }")
        out.extend(node_line(n, "    ") for n in global_nodes)
        out.append("  }")
    rows = ("edge", "public", "private", "data", "transit", "regional")
    for region in model.regions:
        role = model.roles.get(region)
        members = {row: [n for n in model.nodes.values() if n.region == region and n.group == row] for row in rows}
        out.append(f"  subgraph cluster_{_nid(region)} {{")
        out.append(f'    label={_q(region + (f" ({role})" if role else ""))}; style="rounded,filled"; fillcolor="#f4f8fc"; '
                   f'color="#4a7ab0"; {font}; fontsize=18;')
        for row in ("edge", "transit", "regional"):
            out.extend(node_line(n, "    ") for n in members[row])
        out.append(f"    subgraph cluster_{_nid(region)}_vpc {{")
        out.append(f'      label={_q("VPC " + model.vpcs.get(region, ""))}; style="dashed"; color="#7a7a7a"; {font}; fontsize=12;')
        for row in ("public", "private", "data"):
            out.extend(node_line(n, "      ") for n in members[row])
        out.append("    }")
        for row in rows:
            if members[row]:
                out.append("    { rank=same; " + " ".join(n.id for n in members[row]) + " }")
        # Stack the rows top to bottom with invisible edges between the first node of consecutive rows.
        firsts = [members[row][0].id for row in rows if members[row]]
        for a, b in itertools.pairwise(firsts):
            out.append(f"    {a} -> {b} [style=invis];")
        out.append("  }")
    if global_nodes:  # global above the regions
        for region in model.regions:
            top = next((n.id for row in rows for n in model.nodes.values() if n.region == region and n.group == row), None)
            if top:
                out.append(f"  {global_nodes[0].id} -> {top} [style=invis];")
    for e in model.edges:
        attrs = [f"label={_q(e.label)}"] if e.label else []
        if e.cross_region:
            attrs += ['color="#c0392b"', 'fontcolor="#c0392b"', "penwidth=1.6", "constraint=false"]
        if e.style != "solid":
            attrs.append(f"style={e.style}")
        out.append(f"  {e.src} -> {e.dst} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------------


def render(dot: str, svg: Path, png: Path | None) -> None:
    """DOT -> SVG (+ PNG) through the pinned WebAssembly Graphviz; raises if node_modules is missing."""
    if not (ROOT / "node_modules" / "@viz-js" / "viz").exists():
        raise FileNotFoundError("node_modules/@viz-js/viz is missing: run `python3 tasks.py install` (npm ci)")
    with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False) as handle:
        handle.write(dot)
        dot_path = handle.name
    try:
        args = ["node", str(NODE_HELPER), dot_path, str(svg)] + ([str(png)] if png else [])
        subprocess.run(args, cwd=ROOT, check=True)
    finally:
        Path(dot_path).unlink(missing_ok=True)


def environment_of(items: list[Item]) -> str:
    envs = {m[1] for i in items if (m := re.match(r"globalpay-([a-z0-9]+)-", i.stack))}
    return ", ".join(sorted(envs)) or "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth-dir", type=Path, default=ROOT / "cdktf.out", help="cdktf output folder (default: cdktf.out)")
    parser.add_argument("--out", type=Path, default=IMAGES / "architecture", help="output path without extension")
    parser.add_argument("--dot", type=Path, help="write the DOT here ('-' for stdout) and do not render")
    args = parser.parse_args(argv)
    if not (args.synth_dir / "stacks").is_dir():
        print(f"{args.synth_dir}/stacks not found: run `python3 tasks.py synth` (or main.py --out DIR) first", file=sys.stderr)
        return 2
    items = load(args.synth_dir)
    model = build_model(items)
    dot = to_dot(model, f"GlobalPay {environment_of(items)}: generated from {len({i.stack for i in items})} synthesized stacks")
    if args.dot:
        if str(args.dot) == "-":
            sys.stdout.write(dot)
        else:
            args.dot.write_text(dot)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    svg, png = args.out.with_suffix(".svg"), args.out.with_suffix(".png")
    render(dot, svg, png)
    print(f"wrote {svg} and {png} ({len(model.nodes)} nodes, {len(model.edges)} links, regions: {', '.join(model.regions)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
