"""The pre-flight check of pinned EKS add-on versions against DescribeAddonVersions (scripts/preflight.py):
a pin EKS offers for the cluster's version passes, one it does not offer fails with the versions it does,
and a pre-flight that cannot ask AWS is not a pass."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from constructs_lib import versions
from scripts import preflight

ROOT = Path(__file__).resolve().parents[1]


def answer(addon: str, kubernetes: str, offered: Sequence[str], default: str = "") -> dict:
    """A DescribeAddonVersions response in the API's shape (EKS API Reference, DescribeAddonVersions), with
    one version made for another Kubernetes minor that the filter would not return but a sloppy reader might
    count."""
    return {"addons": [{
        "addonName": addon, "type": "networking", "owner": "aws", "publisher": "eks",
        "addonVersions": [
            *({"addonVersion": v, "architecture": ["amd64", "arm64"], "requiresConfiguration": False,
               "compatibilities": [{"clusterVersion": kubernetes, "platformVersions": ["*"], "defaultVersion": v == default}]}
              for v in offered),
            {"addonVersion": "v0.0.1-eksbuild.1", "compatibilities": [{"clusterVersion": "1.20", "platformVersions": ["*"]}]},
        ],
    }]}


def recorded(offers: Mapping[str, Sequence[str]]):
    calls: list[list[str]] = []

    def call(args: Sequence[str]) -> Mapping:
        calls.append(list(args))
        addon = args[args.index("--addon-name") + 1]
        kubernetes = args[args.index("--kubernetes-version") + 1]
        return answer(addon, kubernetes, offers.get(addon, ()), default=(offers.get(addon) or [""])[0])
    return call, calls


def test_every_pin_offered_in_every_region_passes(capsys) -> None:
    call, calls = recorded({addon: [pin, "v99.0.0-eksbuild.1"] for addon, pin in versions.EKS_ADDONS.items()})
    assert preflight.main(["addons"], call=call) == 0
    out = capsys.readouterr().out.splitlines()
    regions = {a[a.index("--region") + 1] for a in calls}
    assert regions == {"us-east-1", "eu-west-1", "ap-southeast-2"}
    assert len(calls) == 3 * len(versions.EKS_ADDONS)
    assert all(a[a.index("--kubernetes-version") + 1] == versions.KUBERNETES_VERSION for a in calls)
    assert out[-1] == f"preflight addons: {len(calls)} of {len(calls)} pins offered by EKS"


def test_a_pin_eks_does_not_offer_for_the_cluster_version_fails_with_what_it_offers(capsys) -> None:
    offers = {addon: [pin] for addon, pin in versions.EKS_ADDONS.items()}
    offers["vpc-cni"] = ["v1.22.3-eksbuild.1", "v1.21.1-eksbuild.9"]
    call, _ = recorded(offers)
    assert preflight.main(["addons"], call=call) == 1
    out = capsys.readouterr().out
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 3 and all(f"vpc-cni {versions.EKS_ADDONS['vpc-cni']}" in line for line in failures)
    assert "offered: v1.22.3-eksbuild.1, v1.21.1-eksbuild.9" in failures[0]


def fake_aws(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "aws"
    script.write_text(f"#!{sys.executable}\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_the_aws_cli_is_asked_per_region_and_add_on(tmp_path: Path) -> None:
    """Through a real process, as the pipeline runs it: the arguments the AWS CLI v2 takes, JSON output."""
    pins = json.dumps(versions.EKS_ADDONS)
    script = fake_aws(tmp_path, f"""import json, sys
args = sys.argv[1:]
assert args[:2] == ["eks", "describe-addon-versions"] and args[-2:] == ["--output", "json"], args
addon = args[args.index("--addon-name") + 1]
k8s = args[args.index("--kubernetes-version") + 1]
pin = {pins}[addon]
print(json.dumps({{"addons": [{{"addonName": addon, "addonVersions": [{{"addonVersion": pin,
    "compatibilities": [{{"clusterVersion": k8s, "platformVersions": ["*"], "defaultVersion": True}}]}}]}}]}}))""")
    done = subprocess.run([sys.executable, "scripts/preflight.py", "addons", "--aws", str(script)], cwd=ROOT,
                          capture_output=True, text=True, check=False, env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("\nok    ") + done.stdout.startswith("ok    ") == 3 * len(versions.EKS_ADDONS)


def test_a_preflight_that_cannot_ask_aws_fails(tmp_path: Path) -> None:
    script = fake_aws(tmp_path, 'import sys; print("Unable to locate credentials.", file=sys.stderr); sys.exit(253)')
    done = subprocess.run([sys.executable, "scripts/preflight.py", "--aws", str(script)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "cannot ask AWS: Unable to locate credentials." in done.stderr


# ------------------------------------------------------------------------------------------------------
# Each region at its own Kubernetes minor (cluster.kubernetes_versions)
# ------------------------------------------------------------------------------------------------------

CANARY = {"cluster": {"kubernetes_versions": {"ap-southeast-2": "1.36"}}}


def canary_config(tmp_path: Path) -> str:
    path = tmp_path / "canary.json"
    path.write_text(json.dumps(CANARY))
    return str(path)


def test_each_region_is_asked_for_its_own_kubernetes_minor(tmp_path: Path, capsys) -> None:
    every_pin = {addon: [pin] for pins in versions.EKS_ADDONS_BY_KUBERNETES.values() for addon, pin in pins.items()}
    every_pin["kube-proxy"] = [p["kube-proxy"] for p in versions.EKS_ADDONS_BY_KUBERNETES.values()]
    every_pin["coredns"] = [p["coredns"] for p in versions.EKS_ADDONS_BY_KUBERNETES.values()]
    call, calls = recorded(every_pin)
    assert preflight.main(["addons", "--config", canary_config(tmp_path)], call=call) == 0
    asked = {(a[a.index("--region") + 1], a[a.index("--addon-name") + 1]): a[a.index("--kubernetes-version") + 1] for a in calls}
    assert {r: v for (r, addon), v in asked.items() if addon == "kube-proxy"} == {
        "us-east-1": "1.35", "eu-west-1": "1.35", "ap-southeast-2": "1.36"}
    assert f"ok    kube-proxy {versions.EKS_ADDONS_BY_KUBERNETES['1.36']['kube-proxy']} on Kubernetes 1.36 in ap-southeast-2" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------------
# Upgrade insights (EKS ListInsights / DescribeInsight, the shapes of the EKS User Guide's examples)
# ------------------------------------------------------------------------------------------------------


def insights_aws(running: Mapping[str, str | None], insights: Sequence[dict], details: Mapping[str, dict] | None = None):
    """describe-cluster answers ``running[region]`` (None: ResourceNotFoundException); list-insights the given ones."""
    calls: list[list[str]] = []

    def call(args: Sequence[str]) -> Mapping:
        calls.append(list(args))
        region = args[args.index("--region") + 1]
        if args[:2] == ["eks", "describe-cluster"]:
            if running[region] is None:
                raise preflight.NotFound("An error occurred (ResourceNotFoundException) when calling the DescribeCluster operation")
            return {"cluster": {"name": "globalpay-prod-cluster", "version": running[region]}}
        if args[:2] == ["eks", "list-insights"]:
            assert args[args.index("--filter") + 1] == "categories=UPGRADE_READINESS"
            return {"insights": list(insights)}
        if args[:2] == ["eks", "describe-insight"]:
            return {"insight": (details or {})[args[args.index("--id") + 1]]}
        raise AssertionError(args)
    return call, calls


def insight(version: str, status: str, id: str = "123e4567-e89b-42d3-a456-579642341238", name: str = "") -> dict:
    return {"category": "UPGRADE_READINESS", "name": name or f"Deprecated APIs removed in Kubernetes v{version}",
            "insightStatus": {"status": status, "reason": "No deprecated API usage detected within the last 30 days." if status == "PASSING"
                              else "Deprecated API usage detected within last 30 days."},
            "kubernetesVersion": version, "id": id}


def test_without_an_upgrade_the_insights_check_passes_and_asks_nothing_more(tmp_path: Path) -> None:
    call, calls = insights_aws(dict.fromkeys(("us-east-1", "eu-west-1", "ap-southeast-2"), "1.35"), [])
    findings = preflight.check_insights(load_prod(), call)
    assert all(f.ok for f in findings) and len(findings) == 3
    assert {c[1] for c in calls} == {"describe-cluster"}


def load_prod(overrides: dict | None = None):
    from constructs_lib.config import load_config
    from regions import REGION_SPECS
    return load_config("prod", REGION_SPECS, overrides)


def test_the_canary_upgrade_passes_when_its_insights_pass() -> None:
    call, _ = insights_aws({"us-east-1": "1.35", "eu-west-1": "1.35", "ap-southeast-2": "1.35"},
                           [insight("1.36", "PASSING"), insight("1.37", "WARNING", id="w")])
    findings = preflight.check_insights(load_prod(CANARY), call)
    assert all(f.ok for f in findings)
    lines = [f.line() for f in findings]
    assert "ok    globalpay-prod-cluster in ap-southeast-2: 1.35 -> 1.36, 1 upgrade insight(s) passing" in lines
    assert any(line.startswith("note  globalpay-prod-cluster in ap-southeast-2: Deprecated APIs removed in Kubernetes v1.37 (WARNING")
               for line in lines)


def test_an_insight_that_does_not_pass_blocks_the_upgrade_with_what_calls_the_removed_api(capsys) -> None:
    blocked = insight("1.36", "ERROR", id="f6a11fe4")
    detail = {**blocked, "recommendation": "Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.36.",
              "categorySpecificSummary": {"deprecationDetails": [{
                  "usage": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
                  "replacedWith": "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
                  "stopServingVersion": "1.36", "startServingReplacementVersion": "1.29",
                  "clientStats": [{"userAgent": "legacy-operator/v0.1", "numberOfRequestsLast30Days": 12}]}]}}
    call, calls = insights_aws({"us-east-1": "1.35", "eu-west-1": "1.35", "ap-southeast-2": "1.35"}, [blocked], {"f6a11fe4": detail})
    findings = preflight.check_insights(load_prod(CANARY), call)
    [failure] = [f for f in findings if not f.ok]
    assert failure.text.startswith('globalpay-prod-cluster in ap-southeast-2: 1.35 -> 1.36 blocked by "Deprecated APIs removed in Kubernetes v1.36" (ERROR')
    assert ("/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas -> /apis/flowcontrol.apiserver.k8s.io/v1/flowschemas "
            "(stops being served in 1.36; called by legacy-operator/v0.1)") in failure.text
    assert ["eks", "describe-insight", "--region", "ap-southeast-2", "--cluster-name", "globalpay-prod-cluster", "--id", "f6a11fe4"] in calls


def test_the_insights_check_refuses_a_skipped_minor_and_a_downgrade_and_skips_a_new_cluster() -> None:
    call, _ = insights_aws({"us-east-1": "1.35", "eu-west-1": None, "ap-southeast-2": "1.34"}, [])
    by_region = {f.text.split(" in ")[1].split(":")[0].split(" ")[0]: f for f in preflight.check_insights(load_prod(CANARY), call)}
    assert not by_region["ap-southeast-2"].ok and "skips a minor" in by_region["ap-southeast-2"].text
    assert by_region["eu-west-1"].ok and by_region["eu-west-1"].note and "does not exist yet" in by_region["eu-west-1"].text
    call, _ = insights_aws({"us-east-1": "1.36", "eu-west-1": "1.35", "ap-southeast-2": "1.35"}, [])
    [down] = [f for f in preflight.check_insights(load_prod(), call) if not f.ok]
    assert "us-east-1 runs 1.36" in down.text and "cannot downgrade" in down.text


# ------------------------------------------------------------------------------------------------------
# Deprecated APIs in the synthesized Kubernetes objects (offline)
# ------------------------------------------------------------------------------------------------------


def test_the_synthesized_objects_use_no_api_their_minor_stopped_serving(prod) -> None:
    findings = preflight.check_deprecated_apis(load_prod(), prod.outdir)
    assert all(f.ok for f in findings) and len(findings) == 3
    assert all(int(f.text.split("): ")[1].split(" ")[0]) >= 25 for f in findings)  # the apps stacks' objects were read


def test_a_removed_api_version_or_an_unknown_object_type_fails_the_scan(prod, tmp_path: Path) -> None:
    import shutil
    out = tmp_path / "out"
    shutil.copytree(prod.outdir, out)
    path = out / "stacks" / "globalpay-prod-eu-west-1-apps" / "cdk.tf.json"
    data = json.loads(path.read_text())
    data["resource"]["kubernetes_manifest"]["legacy-pdb"] = {"manifest": {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget"}}
    data["resource"]["kubernetes_cron_job_v2"] = {"job": {}}
    path.write_text(json.dumps(data))
    failures = [f.text for f in preflight.check_deprecated_apis(load_prod(), out) if not f.ok]
    assert failures == [
        "globalpay-prod-eu-west-1-apps: kubernetes_manifest.legacy-pdb: policy/v1beta1 PodDisruptionBudget is no longer served since Kubernetes 1.25; eu-west-1 runs 1.35",
        "globalpay-prod-eu-west-1-apps: kubernetes_cron_job_v2.job: no known API version for kubernetes_cron_job_v2 (add it to scripts/preflight.py KUBERNETES_RESOURCE_APIS)",
    ]
    assert preflight.main(["deprecated-apis", "--synth-dir", str(tmp_path / "missing")]) == 2


# ------------------------------------------------------------------------------------------------------
# EC2 vCPU quota (the guide's "minimum 50 vCPUs", and what the node group needs)
# ------------------------------------------------------------------------------------------------------


def quota_aws(values: Mapping[str, float]):
    def call(args: Sequence[str]) -> Mapping:
        assert args[:2] == ["service-quotas", "get-service-quota"]
        assert args[args.index("--service-code") + 1] == "ec2" and args[args.index("--quota-code") + 1] == "L-1216C47A"
        return {"Quota": {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A", "QuotaName": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
                          "Value": values[args[args.index("--region") + 1]], "Unit": "None"}}
    return call


def test_the_quota_must_hold_the_node_group_at_its_maximum_not_only_the_guides_50_vcpus() -> None:
    config = load_prod()
    needed = (config.cluster.node_max_size + 6) * 4  # 15 t3.xlarge + a node group update's 2 x 3 AZs
    findings = preflight.check_quota(config, quota_aws({"us-east-1": 100.0, "eu-west-1": 50.0, "ap-southeast-2": float(needed)}))
    assert [f.ok for f in findings] == [True, False, True]
    assert findings[1].text.startswith(f"EC2 On-Demand Standard vCPUs in eu-west-1: quota 50 < {needed}")
    assert "the guide asks for 50" in findings[1].text and "request an increase of L-1216C47A" in findings[1].text
    staging = load_config_staging()
    assert all(f.ok for f in preflight.check_quota(staging, quota_aws(dict.fromkeys(("us-east-1", "eu-west-1", "ap-southeast-2"), 50.0))))


def load_config_staging():
    from constructs_lib.config import load_config
    from regions import REGION_SPECS
    return load_config("staging", REGION_SPECS)


# ------------------------------------------------------------------------------------------------------
# Node AMI patch age (EC2 DescribeImages, AMI names of awslabs/amazon-eks-ami releases)
# ------------------------------------------------------------------------------------------------------


def images_aws(dates: Sequence[str]):
    def call(args: Sequence[str]) -> Mapping:
        assert args[:2] == ["ec2", "describe-images"] and args[args.index("--owners") + 1] == "amazon"
        pattern = args[args.index("--filters") + 1].removeprefix("Name=name,Values=")
        minor = pattern.split("-standard-")[1].split("-v")[0]
        return {"Images": [{"Name": f"amazon-eks-node-al2023-x86_64-standard-{minor}-v{d}", "ImageId": f"ami-{d}"} for d in dates]}
    return call


def test_the_pinned_node_ami_must_be_published_and_not_a_month_behind() -> None:
    import datetime as dt
    pinned = versions.EKS_NODE_AMI_RELEASES[versions.KUBERNETES_VERSION].rsplit("-", 1)[1]  # 20260714
    config = load_prod()
    fresh = preflight.check_node_ami(config, images_aws(["20260625", pinned]), dt.date(2026, 11, 30))
    assert all(f.ok for f in fresh) and "is the newest published" in fresh[0].text
    due_soon = preflight.check_node_ami(config, images_aws([pinned, "20261120"]), dt.date(2026, 11, 30))
    assert all(f.ok for f in due_soon) and "due within 30 days" in due_soon[0].text
    overdue = preflight.check_node_ami(config, images_aws([pinned, "20260820", "20261120"]), dt.date(2026, 11, 30))
    assert not any(f.ok for f in overdue)
    assert "is 102 days behind v20260820 (newest v20261120); patch due" in overdue[0].text
    missing = preflight.check_node_ami(config, images_aws(["20260625"]), dt.date(2026, 11, 30))
    assert not missing[0].ok and "is not published" in missing[0].text


def test_every_check_runs_through_the_aws_cli_as_the_pipeline_calls_it(prod, tmp_path: Path) -> None:
    """One process, every check, the AWS CLI v2's argument forms; the deprecated-API scan reads the prod synthesis."""
    pins = json.dumps(versions.EKS_ADDONS_BY_KUBERNETES)
    release = versions.EKS_NODE_AMI_RELEASES[versions.KUBERNETES_VERSION].rsplit("-", 1)[1]
    script = fake_aws(tmp_path, f"""import json, sys
args = sys.argv[1:]
assert args[-2:] == ["--output", "json"], args
args = args[:-2]
def arg(name): return args[args.index(name) + 1]
if args[:2] == ["eks", "describe-addon-versions"]:
    k8s = arg("--kubernetes-version"); pin = {pins}[k8s][arg("--addon-name")]
    out = {{"addons": [{{"addonName": arg("--addon-name"), "addonVersions": [{{"addonVersion": pin,
        "compatibilities": [{{"clusterVersion": k8s, "platformVersions": ["*"], "defaultVersion": True}}]}}]}}]}}
elif args[:2] == ["eks", "describe-cluster"]:
    out = {{"cluster": {{"version": "1.35"}}}}
elif args[:2] == ["service-quotas", "get-service-quota"]:
    out = {{"Quota": {{"Value": 96.0}}}}
elif args[:2] == ["ec2", "describe-images"]:
    out = {{"Images": [{{"Name": arg("--filters").split("=")[-1].replace("*", "{release}")}}]}}
else:
    print("unexpected " + " ".join(args), file=sys.stderr); sys.exit(255)
print(json.dumps(out))""")
    done = subprocess.run([sys.executable, "scripts/preflight.py", "--aws", str(script), "--synth-dir", str(prod.outdir)], cwd=ROOT,
                          capture_output=True, text=True, check=False, env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("preflight ")] == [
        f"preflight addons: {3 * len(versions.EKS_ADDONS)} of {3 * len(versions.EKS_ADDONS)} pins offered by EKS",
        "preflight insights: passed", "preflight deprecated-apis: passed", "preflight quota: passed", "preflight node-ami: passed"]


def test_one_region_can_be_checked_and_an_unknown_one_is_refused(capsys) -> None:
    from constructs_lib import versions

    pins = versions.EKS_ADDONS_BY_KUBERNETES[versions.KUBERNETES_VERSION]
    call, calls = recorded({addon: [pin] for addon, pin in pins.items()})
    assert preflight.main(["addons", "--region", "eu-west-1"], call=call) == 0
    assert {a[a.index("--region") + 1] for a in calls} == {"eu-west-1"}
    assert preflight.main(["addons", "--region", "us-west-2"], call=call) == 2
    assert "us-west-2 is not a region of prod" in capsys.readouterr().err


def test_the_pipeline_runs_the_preflight_before_planning_a_core_stack() -> None:
    """stack.yml's plan job: credentials, then the pre-flight of the stack's region, then terraform init."""
    from tests.test_pipeline import workflow

    job = workflow("stack.yml")["jobs"]["plan"]
    names = [step.get("name", "") for step in job["steps"]]
    runs = [step.get("run", "") for step in job["steps"]]
    preflight_at = next(i for i, run in enumerate(runs) if "scripts/preflight.py" in run)
    credentials_at = next(i for i, step in enumerate(job["steps"]) if "configure-aws-credentials" in step.get("uses", ""))
    init_at = next(i for i, name in enumerate(names) if name.startswith("terraform init"))
    assert credentials_at < preflight_at < init_at
    command = runs[preflight_at]
    assert all(check in command for check in ("addons", "insights", "quota", "deprecated-apis"))
    assert '--region "$REGION"' in command and job["steps"][preflight_at]["env"]["REGION"] == "${{ inputs.stack }}"


def test_the_daily_drift_run_opens_the_patch_issue_when_a_node_ami_is_due(prod, tmp_path: Path) -> None:
    """The monthly patching duty has an owner: stack.yml (mode drift) runs ``node-ami`` for a core stack's region,
    the assessment carries its failing lines, the report writes the patch issue drift.yml opens, and fails."""
    from tests.test_pipeline import _result, assess, report_module, workflow

    job = workflow("stack.yml")["jobs"]["plan"]
    step = next(s for s in job["steps"] if "preflight.py node-ami" in s.get("run", ""))
    assert step["if"] == "${{ inputs.mode == 'drift' }}" and step["env"]["REGION"] == "${{ inputs.stack }}"
    assert "--patching" in next(s["run"] for s in job["steps"] if "scripts/ci/assess.py" in s.get("run", ""))
    assert any("--patch-body" in s.get("run", "") for s in workflow("stacks.yml")["jobs"]["report"]["steps"])
    assert "patch" in workflow("drift.yml")["jobs"]["issue"]["steps"][-1]["with"]["script"]

    pinned = versions.EKS_NODE_AMI_RELEASES[versions.KUBERNETES_VERSION].rsplit("-", 1)[1]
    overdue = images_aws([pinned, "20260820"])
    import datetime as dt
    import io
    from contextlib import redirect_stdout

    def preflight_output(call) -> str:
        out = io.StringIO()
        with redirect_stdout(out):
            preflight.main(["node-ami", "--region", "eu-west-1"], call=call, today=dt.date(2026, 11, 30))
        return out.getvalue()

    assert assess.patching_due(preflight_output(images_aws([pinned]))) == []
    due = assess.patching_due(preflight_output(overdue))
    assert len(due) == 1 and due[0].startswith("eu-west-1 (") and "patch due" in due[0]
    # a check that could not ask AWS is reported, never taken as up to date
    assert assess.patching_due("preflight node-ami: cannot ask AWS: Unable to locate credentials.")[0].startswith(
        "the node AMI check did not complete")

    results = tmp_path / "results"
    for name in prod:
        if not name.endswith("-bootstrap"):
            (results / name).mkdir(parents=True)
            extra = {"patching": due} if name == "globalpay-prod-eu-west-1" else {}
            (results / name / "result.json").write_text(json.dumps(_result(name, "no changes", **extra)))
    args = ["--environment", "prod", "--mode", "drift", "--outdir", str(prod.outdir), "--results", str(results),
            "--out", str(tmp_path / "summary.md"), "--issue-body", str(tmp_path / "drift.md"),
            "--patch-body", str(tmp_path / "patch.md")]
    assert report_module.main(args) == 1
    assert not (tmp_path / "drift.md").exists()
    body = (tmp_path / "patch.md").read_text()
    assert "PCI DSS 6.3.3" in body and "globalpay-prod-eu-west-1: eu-west-1 (" in body and "EKS_NODE_AMI_RELEASES" in body
