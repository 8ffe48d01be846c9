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


def test_one_region_can_be_checked_and_an_unknown_one_is_refused(capsys) -> None:
    call, calls = recorded({addon: [pin] for addon, pin in versions.EKS_ADDONS.items()})
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
    preflight_at = next(i for i, run in enumerate(runs) if "scripts/preflight.py addons" in run)
    credentials_at = next(i for i, step in enumerate(job["steps"]) if "configure-aws-credentials" in step.get("uses", ""))
    init_at = next(i for i, name in enumerate(names) if name.startswith("terraform init"))
    assert credentials_at < preflight_at < init_at
    assert '--region "$REGION"' in runs[preflight_at] and job["steps"][preflight_at]["env"]["REGION"] == "${{ inputs.stack }}"
