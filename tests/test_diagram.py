"""The architecture pictures are drawn from the synthesized JSON, show every region and store,
and `python3 tasks.py diagram` reproduces the committed SVGs byte for byte.

The model and the DOT text are checked against the session's prod synthesis (every region, every data store
resource by name in its region's picture, the cross-region links, the roles); the SVGs are rendered once through
the pinned WebAssembly Graphviz and checked for the same names (a rendering that silently drops labels fails
too), for a size that reads at README width, and against the committed files in docs/images, byte for byte.
The session synthesizes into a temporary folder, so a path of the synthesis leaking into a picture fails too.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT / "scripts"))

import diagram  # noqa: E402

NAME_ATTRS = {
    "aws_db_instance": "identifier",
    "aws_rds_cluster": "cluster_identifier",
    "aws_elasticache_replication_group": "replication_group_id",
    "aws_msk_cluster": "cluster_name",
    "aws_s3_bucket": "bucket",
    "aws_ecr_repository": "name",
    "aws_dynamodb_table": "name",
}
REGENERATE = "run `python3 tasks.py synth && python3 tasks.py diagram` and commit docs/images"


def expected_regions(synth: Synth) -> set[str]:
    regions = set()
    for name in synth:
        for provider in synth[name].get("provider", {}).get("aws", []):
            regions.add(provider["region"])
    return regions


def region_of(stack: dict, cfg: dict) -> str:
    """The region a resource is created in: its provider alias's, else the stack's default provider's."""
    providers = stack["provider"]["aws"]
    alias = str(cfg.get("provider", "")).removeprefix("aws.")
    return next((p["region"] for p in providers if p.get("alias") == alias and alias),
                next(p["region"] for p in providers if not p.get("alias")))


def expected_stores(synth: Synth) -> dict[str, dict[str, str]]:
    """Every data store resource in the synthesis, by type: name -> the region whose picture must show it."""
    stores: dict[str, dict[str, str]] = {}
    for name in synth:
        for rtype, attr in NAME_ATTRS.items():
            for cfg in synth[name].get("resource", {}).get(rtype, {}).values():
                stores.setdefault(rtype, {})[cfg[attr]] = region_of(synth[name], cfg)
    return stores


def texts(svg: str) -> str:
    """The visible text of an SVG, one string."""
    return " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))


@pytest.fixture(scope="module")
def model(prod: Synth) -> diagram.Model:
    return diagram.build_model(prod.items)


@pytest.fixture(scope="module")
def dots(model: diagram.Model) -> dict[str, str]:
    return diagram.pictures(model)


@pytest.fixture(scope="module")
def svgs(dots: dict[str, str]) -> dict[str, str]:
    if not (ROOT / "node_modules" / "@viz-js" / "viz").exists():
        pytest.skip("node_modules is missing: run `python3 tasks.py install` (npm ci) to install the pinned Graphviz (WebAssembly)")
    return diagram.render_svgs(dots)


def test_the_synthesis_has_the_stores_the_diagram_is_about(prod: Synth) -> None:
    stores = expected_stores(prod)
    assert {"aws_db_instance", "aws_elasticache_replication_group", "aws_msk_cluster", "aws_s3_bucket",
            "aws_ecr_repository"} <= set(stores)
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= expected_regions(prod)


def test_one_picture_per_region_with_its_vpc(prod: Synth, model: diagram.Model, dots: dict[str, str]) -> None:
    assert set(model.regions) == expected_regions(prod)
    assert set(dots) == {"architecture"} | {f"architecture-{region}" for region in model.regions}
    for region in model.regions:
        dot = dots[f"architecture-{region}"]
        assert f"subgraph cluster_{diagram._nid(region)} " in dot
        assert f"VPC {model.vpcs[region]}" in dot  # every region has its VPC drawn
        for tier in ("public", "private", "db"):
            assert f"subgraph cluster_{diagram._nid(region, tier)} " in dot


def test_every_data_store_is_named_in_its_region_picture(prod: Synth, model: diagram.Model, dots: dict[str, str]) -> None:
    for rtype, names in expected_stores(prod).items():
        assert set(model.data_stores[rtype]) == set(names), rtype
        for name, region in names.items():
            assert name in dots[f"architecture-{region}"], f"{rtype} {name} is not drawn in the {region} picture"
        assert any(diagram.DATA_STORE_TYPES[rtype] in dot for dot in dots.values())


def test_region_roles_come_from_the_data(prod: Synth, model: diagram.Model) -> None:
    """Primary: the database writer's region; secondary: its cross-region replica's; tertiary: the rest."""
    writers, replicas = set(), set()
    for name in prod:
        for cfg in prod[name].get("resource", {}).get("aws_db_instance", {}).values():
            region = region_of(prod[name], cfg)
            source = str(cfg.get("replicate_source_db") or "")
            if not source:
                writers.add(region)
            elif f":rds:{region}:" not in source:
                replicas.add(region)
    assert len(writers) == 1 and len(replicas) == 1
    assert model.roles == {region: "primary" if region in writers else "secondary" if region in replicas else "tertiary"
                           for region in model.regions}


def test_cross_region_links_follow_the_json(prod: Synth, model: diagram.Model) -> None:
    cross = {(e.src, e.dst, e.label) for e in model.edges if e.cross_region}
    labels = {label for _, _, label in cross}
    # One TGW peering link per peering attachment of the mesh stack.
    peerings = sum(len(prod[s].get("resource", {}).get("aws_ec2_transit_gateway_peering_attachment", {})) for s in prod)
    assert peerings == 3 and sum(1 for *_, label in cross if label == "TGW peering") == peerings
    # The cross-region read replica hangs off the primary in the other region.
    # (The same-region replica names its source by ARN too; only another region's source is a cross link.)
    replicas = [cfg for s in prod for cfg in prod[s].get("resource", {}).get("aws_db_instance", {}).values()
                if str(cfg.get("replicate_source_db", "")).startswith("arn:")
                and f":rds:{prod[s]['provider']['aws'][0]['region']}:" not in cfg["replicate_source_db"]]
    assert replicas
    for replica in replicas:
        source = replica["replicate_source_db"].split(":")[-1]
        assert any(e.label == "RDS replica" and e.cross_region and e.dst.endswith(diagram._nid(replica["identifier"]))
                   and e.src.endswith(diagram._nid(source)) for e in model.edges)
    assert {"S3 replication", "state replica", "ECR replication", "failover primary", "failover secondary"} <= labels
    # S3 replication between regions: every rule of every replication configuration is one link.
    s3 = {(model.nodes[e.src].region, model.nodes[e.dst].region) for e in model.edges if e.kind == "s3"}
    assert {("us-east-1", "eu-west-1"), ("eu-west-1", "us-east-1"), ("ap-southeast-2", "us-east-1")} <= s3


def test_overview_shows_every_region_and_the_global_layer(model: diagram.Model, svgs: dict[str, str]) -> None:
    text = texts(svgs["architecture"])
    for region in model.regions:
        assert f"{region} ({model.roles[region]})" in text
        assert f"VPC {model.vpcs[region]}" in text
    for part in ("global", "Route 53", "failover api.globalpay.com", "CloudFront + WAF", "Shield Advanced", "Budget USD",
                 "CloudWatch dashboard", "EKS", "PostgreSQL writer", "PostgreSQL read replica", "no database", "Redis",
                 "Kafka", "S3:", "ECR:", "Transit gateway", "full-mesh peering"):
        assert part in text, part
    for link in ("RDS replica", "S3 data", "S3 data copy", "Terraform state", "ECR images", "TGW peering",
                 "failover primary", "failover secondary", "health check"):
        assert link in text, link
    # Each region box links to its detailed picture (when the SVG is opened on its own).
    for region in model.regions:
        assert f'xlink:href="architecture-{region}.svg"' in svgs["architecture"]


def test_overview_reads_at_page_width(svgs: dict[str, str]) -> None:
    """Landscape, at most about 2:1, and its smallest text still about 11 px when scaled to a 900 px README column."""
    width, height = diagram.svg_size(svgs["architecture"])
    assert 1.3 <= width / height <= 2.1, (width, height)
    smallest = min(float(size) for size in re.findall(r'font-size="([\d.]+)"', svgs["architecture"]))
    px_at_900 = smallest * 900 / width  # pt -> px is 4/3 on both sides of the ratio
    assert px_at_900 >= 11, f"{smallest} pt text is {px_at_900:.1f} px at 900 px width"


def test_region_svgs_show_every_store_and_stack(prod: Synth, model: diagram.Model, svgs: dict[str, str]) -> None:
    for rtype, names in expected_stores(prod).items():
        for name, region in names.items():
            assert name in texts(svgs[f"architecture-{region}"]), f"{rtype} {name} missing from the {region} SVG"
    for region in model.regions:
        text = texts(svgs[f"architecture-{region}"])
        assert f"{region} ({model.roles[region]})" in text
        for stack in prod:  # every workspace of the region is named in its picture's legend
            if stack.endswith(region) or f"-{region}-" in stack:
                assert stack in text, f"{stack} missing from the {region} picture"


def test_committed_pictures_are_regenerated_byte_for_byte(svgs: dict[str, str]) -> None:
    """docs/images holds exactly what scripts/diagram.py draws from a default prod synthesis."""
    committed = {p.stem for p in IMAGES.glob("architecture*.svg")}
    assert committed == set(svgs), f"docs/images has {sorted(committed)}, the synthesis draws {sorted(svgs)}: {REGENERATE}"
    for name, svg in svgs.items():
        assert (IMAGES / f"{name}.svg").read_bytes() == svg.encode("utf-8"), f"docs/images/{name}.svg is stale: {REGENERATE}"
    assert not list(IMAGES.glob("architecture*.png")), "PNGs are not byte-stable across platforms: commit the SVGs only"


def test_the_dot_does_not_depend_on_the_hash_seed(prod: Synth, dots: dict[str, str]) -> None:
    """Set order changes with PYTHONHASHSEED: two other seeds must draw the same DOT as this process."""
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "diagram.py"), "--synth-dir", str(prod.outdir), "--dot", "-"],
                              capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.stdout == "".join(dots.values()), f"PYTHONHASHSEED={seed} draws another DOT"


def test_readme_and_docs_show_the_overview_and_link_every_region(model: diagram.Model) -> None:
    readme = (ROOT / "README.md").read_text()
    top = readme[:readme.index("\n## ")]
    assert "](docs/images/architecture.svg)" in top and "![" in top
    docs = (ROOT / "docs" / "architecture.md").read_text()
    assert "](images/architecture.svg)" in docs
    for region in model.regions:
        assert f"](docs/images/architecture-{region}.svg)" in top, f"README does not link the {region} picture"
        assert f"](images/architecture-{region}.svg)" in docs, f"docs/architecture.md does not link the {region} picture"


def test_png_previews_render(svgs: dict[str, str], tmp_path: Path) -> None:
    """--png rasterizes with the pinned resvg and DejaVu fonts (previews only, never committed)."""
    [png] = diagram.render_pngs({"architecture": svgs["architecture"]}, tmp_path, width=900)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 900
