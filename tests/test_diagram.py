"""Issue 7: the architecture diagram is drawn from the synthesized JSON and shows every region and store.

The model and the DOT text are checked against the session's prod synthesis (every region, every data store
resource by name, the cross-region links); the SVG is rendered once through the pinned WebAssembly Graphviz
and checked for the same names, so a rendering that silently drops labels fails too.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
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


def expected_regions(synth: Synth) -> set[str]:
    regions = set()
    for name in synth:
        for provider in synth[name].get("provider", {}).get("aws", []):
            regions.add(provider["region"])
    return regions


def expected_stores(synth: Synth) -> dict[str, set[str]]:
    """Every data store resource in the synthesis, by type: the names the diagram must show."""
    stores: dict[str, set[str]] = {}
    for name in synth:
        for rtype, attr in NAME_ATTRS.items():
            for cfg in synth[name].get("resource", {}).get(rtype, {}).values():
                stores.setdefault(rtype, set()).add(cfg[attr])
    return stores


@pytest.fixture(scope="module")
def model_and_dot(prod: Synth) -> tuple[diagram.Model, str]:
    model = diagram.build_model(diagram.load(prod.outdir))
    return model, diagram.to_dot(model, "test")


@pytest.fixture(scope="module")
def svg(model_and_dot: tuple[diagram.Model, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    if not (ROOT / "node_modules" / "@viz-js" / "viz").exists():
        pytest.skip("node_modules is missing: run `python3 tasks.py install` (npm ci) to install the pinned Graphviz (WebAssembly)")
    out = tmp_path_factory.mktemp("diagram")
    diagram.render(model_and_dot[1], out / "a.svg", out / "a.png")
    assert (out / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return html.unescape((out / "a.svg").read_text())


def test_the_synthesis_has_the_stores_the_diagram_is_about(prod: Synth) -> None:
    stores = expected_stores(prod)
    assert {"aws_db_instance", "aws_elasticache_replication_group", "aws_msk_cluster", "aws_s3_bucket",
            "aws_ecr_repository"} <= set(stores)
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= expected_regions(prod)


def test_every_region_is_a_cluster_of_the_graph(prod: Synth, model_and_dot: tuple[diagram.Model, str]) -> None:
    model, dot = model_and_dot
    assert set(model.regions) == expected_regions(prod)
    for region in model.regions:
        assert f"subgraph cluster_{diagram._nid(region)} " in dot
        assert f"VPC {model.vpcs[region]}" in dot  # every region has its VPC drawn


def test_every_data_store_is_named_in_the_dot(prod: Synth, model_and_dot: tuple[diagram.Model, str]) -> None:
    model, dot = model_and_dot
    for rtype, names in expected_stores(prod).items():
        assert set(model.data_stores[rtype]) == names, rtype
        for name in names:
            assert name in dot, f"{rtype} {name} is not drawn"
        assert diagram.DATA_STORE_TYPES[rtype] in dot


def test_cross_region_links_follow_the_json(prod: Synth, model_and_dot: tuple[diagram.Model, str]) -> None:
    model, _ = model_and_dot
    cross = {(e.src, e.dst, e.label) for e in model.edges if e.cross_region}
    labels = {label for _, _, label in cross}
    # One TGW peering link per peering attachment of the global stack.
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
    assert {"S3 replication", "ECR replication", "failover primary", "failover secondary"} <= labels


def test_svg_shows_every_region_and_every_store(prod: Synth, svg: str) -> None:
    text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    for region in expected_regions(prod):
        assert region in text
    for rtype, names in expected_stores(prod).items():
        for name in names:
            assert name in text, f"{rtype} {name} missing from the SVG"


def test_committed_images_exist_and_are_generated() -> None:
    """docs/images holds the rendered diagram the README shows; regenerate with scripts/diagram.py."""
    svg_file = ROOT / "docs" / "images" / "architecture.svg"
    png_file = ROOT / "docs" / "images" / "architecture.png"
    assert png_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    committed = html.unescape(svg_file.read_text())
    assert "<svg" in committed and "us-east-1" in committed and "GlobalPay prod" in committed
