"""The cost estimate prices the synthesized JSON from the checked-in price table.

The hand-computed figures below are written out as arithmetic on the price table's numbers, so a pricer
that miscounts (brokers, Multi-AZ storage, endpoint AZs, the gp3 baseline) fails here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import cost  # noqa: E402

PRICES = json.loads((ROOT / "pricing" / "aws-prices-2026-11.json").read_text())
H = 730


def _stack(tmp_path: Path, name: str, body: dict) -> Path:
    stack_dir = tmp_path / "stacks" / name
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps(body))
    return tmp_path


def test_price_table_is_dated_sourced_and_covers_the_regions() -> None:
    assert PRICES["as_of"] == "2026-11" and PRICES["hours_per_month"] == H
    assert set(PRICES["regions"]) == {"us-east-1", "eu-west-1", "ap-southeast-2"}
    assert all(url.startswith("https://aws.amazon.com/") for url in PRICES["sources"].values())
    for region, table in PRICES["regions"].items():
        assert table["ec2_instance_hour"]["t3.xlarge"] > 0, region
        for cls in ("db.r6g.2xlarge", "db.r6g.xlarge", "db.r6g.large"):
            assert table["rds_instance_hour"]["multi_az"][cls] > table["rds_instance_hour"]["single_az"][cls] > 0
        assert {"cache.r6g.xlarge", "cache.t4g.medium"} <= set(table["elasticache_node_hour"])
        assert {"kafka.m5.2xlarge", "kafka.m7g.large"} <= set(table["msk_broker_hour"])
    assert PRICES["global"]["shield_advanced_month"] == 3000
    assert PRICES["guide_estimate"]["total"] == sum(PRICES["guide_estimate"]["items"].values()) == 5920


def test_one_small_stack_priced_by_hand(tmp_path: Path) -> None:
    """A region stack with a Multi-AZ database, brokers, a NAT gateway, an endpoint, a key and an unknown type."""
    synth_dir = _stack(tmp_path, "globalpay-test-eu-west-1", {
        "provider": {"aws": [{"region": "eu-west-1"}]},
        "resource": {
            "aws_db_instance": {"db": {"identifier": "db", "instance_class": "db.r6g.large", "multi_az": True,
                                        "allocated_storage": 100, "storage_type": "gp3", "iops": 0}},
            "aws_msk_cluster": {"kafka": {"number_of_broker_nodes": 3, "broker_node_group_info": {
                "instance_type": "kafka.m7g.large", "storage_info": {"ebs_storage_info": {"volume_size": 100}}}}},
            "aws_nat_gateway": {"nat": {}},
            "aws_eip": {"nat-ip": {}},
            "aws_vpc_endpoint": {"ec2": {"vpc_endpoint_type": "Interface", "service_name": "com.amazonaws.eu-west-1.ec2",
                                         "subnet_ids": ["a", "b", "c"]},
                                 "s3": {"vpc_endpoint_type": "Gateway", "service_name": "com.amazonaws.eu-west-1.s3"}},
            "aws_kms_key": {"key": {}},
            "aws_subnet": {"s": {}},
            "aws_s3_bucket": {"b": {}},
            "aws_quantum_ledger": {"x": {}, "y": {}},
        },
    })
    eu = PRICES["regions"]["eu-west-1"]
    expected = (
        eu["rds_instance_hour"]["multi_az"]["db.r6g.large"] * H  # the instance, Multi-AZ
        + 100 * 2 * eu["rds_gp3_gb_month"]  # 100 GB, billed twice (standby)
        + 3 * eu["msk_broker_hour"]["kafka.m7g.large"] * H  # three brokers
        + 3 * 100 * eu["msk_storage_gb_month"]  # 100 GB each
        + eu["nat_gateway_hour"] * H
        + eu["public_ipv4_hour"] * H
        + 3 * eu["vpc_interface_endpoint_az_hour"] * H  # one interface endpoint in three AZs; the gateway one is free
        + eu["kms_key_month"]
    )
    report = cost.price(cost.load_synthesis(synth_dir), cost.Prices(PRICES))
    assert report.total() == pytest.approx(expected, abs=0.01)
    assert report.total("eu-west-1") == pytest.approx(expected, abs=0.01)
    assert report.unknown == {"aws_quantum_ledger": 2}  # counted, not guessed
    assert report.usage_based == {"aws_s3_bucket": 1}
    assert not report.missing_prices


def test_gp3_iops_above_the_baseline_and_aliased_providers(tmp_path: Path) -> None:
    synth_dir = _stack(tmp_path, "globalpay-test-global", {
        "provider": {"aws": [{"region": "us-east-1"}, {"alias": "ap", "region": "ap-southeast-2"}]},
        "resource": {"aws_db_instance": {"db": {
            "provider": "aws.ap", "identifier": "db", "instance_class": "db.r6g.xlarge", "multi_az": False,
            "allocated_storage": 500, "storage_type": "gp3", "iops": 15000, "storage_throughput": 500}}},
    })
    ap = PRICES["regions"]["ap-southeast-2"]
    expected = (ap["rds_instance_hour"]["single_az"]["db.r6g.xlarge"] * H + 500 * ap["rds_gp3_gb_month"]
                + (15000 - 12000) * ap["rds_gp3_iops_month"])  # >= 400 GB: 12,000 IOPS / 500 MiB/s included
    report = cost.price(cost.load_synthesis(synth_dir), cost.Prices(PRICES))
    assert report.total("ap-southeast-2") == pytest.approx(expected, abs=0.01)
    assert report.total("us-east-1") == 0


def test_a_missing_price_is_reported_not_guessed(tmp_path: Path) -> None:
    synth_dir = _stack(tmp_path, "globalpay-test-us-east-1", {
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": {"aws_elasticache_replication_group": {"r": {"node_type": "cache.x99.huge", "num_cache_clusters": 2}}},
    })
    report = cost.price(cost.load_synthesis(synth_dir), cost.Prices(PRICES))
    assert report.total() == 0
    assert any("cache.x99.huge" in m for m in report.missing_prices)


def test_prod_kafka_in_the_primary_region_by_hand(prod: Synth) -> None:
    """The real prod synthesis: us-east-1 MSK = brokers x broker hour x 730 + brokers x volume x GB-month."""
    stack = prod["globalpay-prod-us-east-1"]
    clusters = list(stack["resource"]["aws_msk_cluster"].values())
    assert len(clusters) == 1
    brokers = clusters[0]["number_of_broker_nodes"]
    info = clusters[0]["broker_node_group_info"]
    us = PRICES["regions"]["us-east-1"]
    expected = (brokers * us["msk_broker_hour"][info["instance_type"]] * H
                + brokers * info["storage_info"]["ebs_storage_info"]["volume_size"] * us["msk_storage_gb_month"])
    assert (brokers, info["instance_type"]) == (6, "kafka.m5.2xlarge")  # the guide's cluster
    assert expected == pytest.approx(6 * 0.84 * 730 + 6 * 1000 * 0.10)
    report = cost.price(prod, cost.Prices(PRICES))
    msk = sum(line.monthly for line in report.lines if line.service == "MSK" and line.region == "us-east-1")
    assert msk == pytest.approx(expected, abs=0.01)


def test_prod_and_staging_every_region_priced_staging_cheaper(prod: Synth, staging: Synth) -> None:
    prices = cost.Prices(PRICES)
    prod_report = cost.price(prod, prices)
    staging_report = cost.price(staging, prices)
    for report in (prod_report, staging_report):
        assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(report.regions())
        assert all(report.total(r) > 0 for r in ("us-east-1", "eu-west-1", "ap-southeast-2"))
        assert not report.missing_prices, report.missing_prices
        # A type the price model does not know is counted, not priced: every type we synthesize is known.
        assert not report.unknown, f"add to scripts/cost.py: {report.unknown}"
    assert staging_report.total() < prod_report.total()
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        assert staging_report.total(region) < prod_report.total(region), region
    assert any(line.service == "Shield Advanced" for line in prod_report.lines)
    assert not any(line.service == "Shield Advanced" for line in staging_report.lines)
    text = cost.format_table(prod_report) + cost.format_comparison(prod_report, prices)
    assert "5,920" in text and "us-east-1" in text and "ap-southeast-2" in text


def test_command_prints_tables_for_an_existing_synthesis(prod: Synth, capsys: pytest.CaptureFixture[str]) -> None:
    assert cost.main(["--synth-dir", str(prod.outdir)]) == 0
    out = capsys.readouterr().out
    assert "environment prod" in out and "Guide estimate" in out and "total" in out


def test_the_docs_quote_the_prod_estimate_this_synthesis_gives(prod: Synth) -> None:
    """A figure in the docs that comes from a synth is checked, never hand-copied. The README and
    docs/deviations.md quote the prod estimate rounded to USD 1,000 ("~USD 26,000", "about USD 26,000")."""
    total = cost.price(prod, cost.Prices(PRICES)).total()
    quoted = {}
    for doc in ("README.md", "docs/deviations.md"):
        text = " ".join((ROOT / doc).read_text().split())
        quoted[doc] = [int(m.replace(",", "")) for m in re.findall(r"(?:~|about )USD ([\d,]+)", text)]
    assert all(quoted.values()), f"a doc no longer quotes the estimate: {quoted}"
    expected = int(round(total, -3))
    for doc, figures in quoted.items():
        assert figures == [expected] * len(figures), f"{doc} quotes USD {figures}; the prod synth prices USD {total:,.0f}"


def test_synthesizing_shows_progress(monkeypatch: pytest.MonkeyPatch, prod: Synth, capsys: pytest.CaptureFixture[str]) -> None:
    """`cost` synthesizes each environment (tens of seconds): one line when it starts, one with the
    time when it ends, on stderr (stdout stays the report)."""
    import shutil

    def fake_synthesize(env: str, outdir: Path) -> None:
        print("synthesizing now", file=sys.stderr)
        shutil.copytree(prod.outdir, outdir)

    monkeypatch.setattr(cost, "synthesize", fake_synthesize)
    assert cost.main(["--env", "prod"]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert err[0] == "cost: synthesizing prod (about 10 s) ..." and err[1] == "synthesizing now"
    assert re.fullmatch(r"cost: synthesizing prod \(about 10 s\): \d+ s", err[2]), err
    assert "environment prod" in captured.out and "synthesizing" not in captured.out


def test_the_eks_upgrade_policy_is_priced_from_the_end_of_standard_support(tmp_path: Path) -> None:
    """EXTENDED keeps a minor past its standard support at the extended-support hour: contingent before that date,
    in the total after it; STANDARD never pays it (EKS upgrades the cluster instead)."""
    def report(policy: str, version: str, as_of: str) -> cost.Report:
        out = tmp_path / f"{policy}-{version}-{as_of}"
        _stack(out, "globalpay-test-us-east-1", {
            "provider": {"aws": [{"region": "us-east-1"}]},
            "resource": {"aws_eks_cluster": {"c": {"name": "demo", "version": version, "upgrade_policy": {"support_type": policy}}}},
        })
        return cost.price(cost.load_synthesis(out), cost.Prices({**PRICES, "as_of": as_of}))

    us = PRICES["regions"]["us-east-1"]
    before = report("EXTENDED", "1.35", "2026-11")
    assert before.total() == pytest.approx(us["eks_cluster_hour"] * H)
    [contingent] = before.contingent
    extra = (us["eks_cluster_extended_support_hour"] - us["eks_cluster_hour"]) * H
    assert f"from the day after 2027-03-27 it costs USD {extra:,.0f}/month more" in contingent and extra == pytest.approx(365)
    after = report("EXTENDED", "1.35", "2027-04")
    assert after.total() == pytest.approx(us["eks_cluster_extended_support_hour"] * H) and not after.contingent
    assert "extended support since 2027-03-27" in after.lines[0].item
    standard = report("STANDARD", "1.35", "2027-04")
    assert standard.total() == pytest.approx(us["eks_cluster_hour"] * H) and not standard.contingent


def test_burstable_nodes_in_unlimited_mode_pay_the_surplus_at_the_hpa_cpu_target(tmp_path: Path) -> None:
    def stack(credits: str) -> cost.Report:
        out = tmp_path / credits
        _stack(out, "globalpay-test-eu-west-1", {
            "provider": {"aws": [{"region": "eu-west-1"}]},
            "resource": {
                "aws_launch_template": {"lt": {"credit_specification": {"cpu_credits": credits},
                                               "block_device_mappings": [{"ebs": {"volume_size": 50}}]}},
                "aws_eks_node_group": {"ng": {"instance_types": ["t3.xlarge"], "scaling_config": {"desired_size": 5},
                                              "launch_template": {"id": "${aws_launch_template.lt.id}"}}},
            },
        })
        _stack(out, "globalpay-test-eu-west-1-apps", {
            "provider": {"aws": [{"region": "eu-west-1"}]},
            "resource": {"kubernetes_horizontal_pod_autoscaler_v2": {"h": {"spec": {"metric": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "average_utilization": 70}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "average_utilization": 80}}},
            ]}}}},
        })
        return cost.price(cost.load_synthesis(out), cost.Prices(PRICES))

    eu = PRICES["regions"]["eu-west-1"]
    base = 5 * eu["ec2_instance_hour"]["t3.xlarge"] * H + 5 * 50 * eu["ebs_gp3_gb_month"]
    surplus = 5 * 4 * (0.70 - 0.40) * H * eu["ec2_unlimited_surplus_vcpu_hour"]  # 5 nodes x 4 vCPUs x 30 points over baseline
    unlimited = stack("unlimited")
    assert unlimited.total() == pytest.approx(base + surplus, abs=0.01)
    assert any("unlimited CPU credits at 70% average CPU" in line.item for line in unlimited.lines)
    assert stack("standard").total() == pytest.approx(base, abs=0.01)


def test_prod_prices_the_unlimited_credits_and_lists_extended_support_as_contingent(prod: Synth) -> None:
    report = cost.price(prod, cost.Prices(PRICES))
    credits = {line.region: line.monthly for line in report.lines if "unlimited CPU credits" in line.item}
    assert set(credits) == {"us-east-1", "eu-west-1", "ap-southeast-2"}
    for region, monthly in credits.items():
        assert monthly == pytest.approx(5 * 4 * 0.30 * H * PRICES["regions"][region]["ec2_unlimited_surplus_vcpu_hour"])
    assert len(report.contingent) == 3 and all("EXTENDED upgrade policy" in c for c in report.contingent)
    assert "Contingent" in cost.format_unpriced(report)
