#!/usr/bin/env python
"""Pre-flight checks against the target account, before a plan: what the emulator cannot know.

    python3 tasks.py preflight [CHECK ...] [--env prod] [--config FILE] [--region R] [--aws aws] [--synth-dir cdktf.out]

The configuration is the one the pipeline deploys: the committed ``environments/<env>.json``, then ``--config``;
``--region`` limits every check to that region's cluster (the pipeline checks a core stack's own region).

Each region's cluster is judged at the Kubernetes minor the configuration gives it
(``EnvironmentConfig.kubernetes_version``: ``cluster.kubernetes_version`` or the region's pin in
``cluster.kubernetes_versions``). Checks (default: all of them, in this order):

``addons``: every pinned EKS managed add-on version (``constructs_lib/versions.py`` EKS_ADDONS_BY_KUBERNETES) is
one that EKS offers for the region's Kubernetes version. CreateAddon refuses a version whose compatibilities do
not list the cluster's version, and a pin's evidence can be indirect (a build seen on another cluster version, a
chart release): ``aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`` (EKS API
DescribeAddonVersions) lists exactly the versions EKS will install on that Kubernetes version.

``insights``: for a region whose configured minor is newer than its running cluster (an upgrade this change
applies), the cluster runs at most one minor behind it (EKS upgrades one minor at a time, never down), and EKS
upgrade insights for the target minor pass: ``aws eks describe-cluster``, ``aws eks list-insights --filter
categories=UPGRADE_READINESS``, and ``aws eks describe-insight`` for each one that does not pass (its deprecated API
usage: what calls it, what replaces it). EKS marks an insight ERROR when it affects the next minor (EKS User Guide,
"Prepare for Kubernetes version upgrades with cluster insights"). A region without a cluster yet is skipped.

``deprecated-apis``: every Kubernetes object the synthesized stacks create (``--synth-dir``, default cdktf.out)
uses an API version its region's Kubernetes minor still serves (Kubernetes deprecation guide, removals by release;
``REMOVED_APIS``). Offline: it reads the JSON, no AWS call. What the Helm charts create at run time is covered by
the upgrade insights (EKS reads the API server's audit log).

``quota``: the region's EC2 On-Demand Standard vCPU quota (Service Quotas ``L-1216C47A``) holds the node group at
its maximum plus what a managed node group update launches (``capacity.vcpu_quota_needed``), and at least the
guide's own figure ("Service quotas increased for: EC2 instances (minimum 50 vCPUs)"):
``aws service-quotas get-service-quota``.

``node-ami``: the pinned EKS-optimized AMI release (``versions.EKS_NODE_AMI_RELEASES``) is published in the region,
and no newer release has been out for more than ``versions.NODE_AMI_PATCH_DAYS`` days (PCI DSS 6.3.3): ``aws ec2
describe-images --owners amazon``. The daily drift run (stack.yml, mode drift) runs it per core stack; a failure
names the release to pin and opens the environment's patch issue.

Read credentials with ``eks:DescribeAddonVersions``, ``eks:DescribeCluster``, ``eks:ListInsights``,
``eks:DescribeInsight``, ``servicequotas:GetServiceQuota`` and ``ec2:DescribeImages`` (the pull-request plan role)
and the AWS CLI v2 on PATH.

Exit status 0 when every check passes, 1 when one fails (one line per finding, with what to do), 2 when the AWS
CLI fails (no credentials, no network) or the synthesis to scan is missing: a pre-flight that cannot look is not a
pass.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib import capacity, versions  # noqa: E402
from constructs_lib.config import EnvironmentConfig, apply_overrides, load_config, load_overrides_file  # noqa: E402
from constructs_lib.naming import Naming  # noqa: E402
from regions import REGION_SPECS  # noqa: E402

#: Runs the AWS CLI with these arguments and returns its parsed JSON output (tests pass a recording).
AwsCli = Callable[[Sequence[str]], Mapping]

CHECKS = ("addons", "insights", "deprecated-apis", "quota", "node-ami")


class AwsCliError(RuntimeError):
    """The AWS CLI could not answer (credentials, network, throttling)."""


class NotFound(AwsCliError):
    """The AWS CLI answered that the object does not exist (ResourceNotFoundException)."""


@dataclass(frozen=True)
class AddonFinding:
    region: str
    kubernetes_version: str
    addon: str
    pinned: str
    offered: tuple[str, ...]
    default: str

    @property
    def ok(self) -> bool:
        return self.pinned in self.offered

    def line(self) -> str:
        where = f"{self.addon} {self.pinned} on Kubernetes {self.kubernetes_version} in {self.region}"
        if self.ok:
            extra = f" (default {self.default})" if self.default and self.default != self.pinned else ""
            return f"ok    {where}{extra}"
        newest = ", ".join(self.offered[:3]) or "none"
        return (f"FAIL  {where}: EKS does not offer it (CreateAddon would refuse it); offered: {newest}"
                f"{', ...' if len(self.offered) > 3 else ''}; pin one of them in constructs_lib/versions.py with its evidence")


@dataclass(frozen=True)
class Finding:
    """One result of the other checks: ``ok`` or not, and the line that says why."""

    ok: bool
    text: str
    #: Reported, not failing (an insight for a minor further ahead, a cluster that does not exist yet).
    note: bool = False

    def line(self) -> str:
        return f"{'ok   ' if self.ok else 'FAIL '} {self.text}" if not self.note else f"note  {self.text}"


def aws_cli(binary: str = "aws") -> AwsCli:
    def call(args: Sequence[str]) -> Mapping:
        try:
            done = subprocess.run([binary, *args, "--output", "json"], capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AwsCliError(f"{binary}: {exc}") from None
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"{binary} exited {done.returncode}"
            raise (NotFound if "ResourceNotFoundException" in done.stderr else AwsCliError)(message)
        return json.loads(done.stdout or "{}")
    return call


def selected_regions(config: EnvironmentConfig, regions: Sequence[str] = ()) -> tuple[str, ...]:
    """The environment's regions, or those of ``regions`` (``--region``: the pipeline checks one core stack's)."""
    return tuple(r for r in config.region_names if not regions or r in regions)


def cluster_versions(config: EnvironmentConfig, regions: Sequence[str] = ()) -> Iterator[tuple[str, str]]:
    """(region, Kubernetes minor) of every cluster of the environment (or of ``regions``), as configured."""
    for region in selected_regions(config, regions):
        yield region, config.kubernetes_version(region)


def addon_pins(config: EnvironmentConfig, regions: Sequence[str] = ()) -> Iterator[tuple[str, str, Mapping[str, str]]]:
    """(region, Kubernetes version, {add-on: pinned version}) of every cluster of the environment (or of ``regions``)."""
    for region, kubernetes in cluster_versions(config, regions):
        yield region, kubernetes, versions.EKS_ADDONS_BY_KUBERNETES[kubernetes]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in "".join(c if c.isdigit() else " " for c in version).split())


# ------------------------------------------------------------------------------------------------------
# addons
# ------------------------------------------------------------------------------------------------------


def check_addons(config: EnvironmentConfig, call: AwsCli, regions: Sequence[str] = ()) -> list[AddonFinding]:
    findings = []
    for region, kubernetes, pins in addon_pins(config, regions):
        for addon, pinned in sorted(pins.items()):
            answer = call(["eks", "describe-addon-versions", "--region", region, "--kubernetes-version", kubernetes,
                           "--addon-name", addon])
            offered: list[str] = []
            default = ""
            for entry in answer.get("addons", []):
                if entry.get("addonName") != addon:
                    continue
                for candidate in entry.get("addonVersions", []):
                    compatible = [c for c in candidate.get("compatibilities", []) if c.get("clusterVersion") == kubernetes]
                    if compatible:
                        offered.append(candidate["addonVersion"])
                        if any(c.get("defaultVersion") for c in compatible):
                            default = candidate["addonVersion"]
            findings.append(AddonFinding(region, kubernetes, addon, pinned,
                                         tuple(sorted(set(offered), key=_version_key, reverse=True)), default))
    return findings


# ------------------------------------------------------------------------------------------------------
# insights
# ------------------------------------------------------------------------------------------------------


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def check_insights(config: EnvironmentConfig, call: AwsCli, regions: Sequence[str] = ()) -> list[Finding]:
    findings: list[Finding] = []
    cluster = Naming(config.name).name("cluster")
    for region, target in cluster_versions(config, regions):
        try:
            running = str(call(["eks", "describe-cluster", "--region", region, "--name", cluster])["cluster"]["version"])
        except NotFound:
            findings.append(Finding(True, f"{cluster} in {region} does not exist yet: it is created at {target}", note=True))
            continue
        if _minor(target) == _minor(running):
            findings.append(Finding(True, f"{cluster} in {region} runs {running}, as configured: no upgrade in this change"))
            continue
        if _minor(target) < _minor(running):
            findings.append(Finding(False, f"{cluster} in {region} runs {running} and the configuration says {target}: EKS cannot "
                                           "downgrade a control plane; configure the running minor"))
            continue
        if _minor(target)[1] - _minor(running)[1] > 1 or _minor(target)[0] != _minor(running)[0]:
            findings.append(Finding(False, f"{cluster} in {region} runs {running}; {target} skips a minor: EKS upgrades one minor "
                                           "at a time (configure the next minor, apply, then the one after)"))
            continue
        listed = call(["eks", "list-insights", "--region", region, "--cluster-name", cluster,
                       "--filter", "categories=UPGRADE_READINESS"]).get("insights", [])
        relevant = [i for i in listed if str(i.get("kubernetesVersion", "")) == target]
        blocking = [i for i in relevant if (i.get("insightStatus") or {}).get("status") != "PASSING"]
        for insight in listed:
            status = (insight.get("insightStatus") or {}).get("status")
            if insight not in relevant and status not in (None, "PASSING"):
                findings.append(Finding(True, f"{cluster} in {region}: {insight.get('name')} ({status}, Kubernetes "
                                              f"{insight.get('kubernetesVersion')}): {(insight.get('insightStatus') or {}).get('reason', '')}", note=True))
        if not relevant:
            findings.append(Finding(False, f"{cluster} in {region}: EKS reports no upgrade insight for {target} yet; wait for the "
                                           "insights to refresh (they update periodically) before upgrading"))
            continue
        if not blocking:
            findings.append(Finding(True, f"{cluster} in {region}: {running} -> {target}, {len(relevant)} upgrade insight(s) passing"))
            continue
        for insight in blocking:
            detail = call(["eks", "describe-insight", "--region", region, "--cluster-name", cluster, "--id", str(insight["id"])])
            body = detail.get("insight") or {}
            usages = [
                f"{d.get('usage')} -> {d.get('replacedWith') or 'no replacement'} (stops being served in {d.get('stopServingVersion')}"
                + (f"; called by {', '.join(sorted({c.get('userAgent', '?') for c in d.get('clientStats') or []}))}" if d.get("clientStats") else "")
                + ")"
                for d in (body.get("categorySpecificSummary") or {}).get("deprecationDetails") or []
            ]
            status = (insight.get("insightStatus") or {})
            findings.append(Finding(False, f"{cluster} in {region}: {running} -> {target} blocked by \"{insight.get('name')}\" "
                                           f"({status.get('status')}: {status.get('reason', '')})"
                                           + (f"; {'; '.join(usages)}" if usages else "")
                                           + (f"; {body['recommendation']}" if body.get("recommendation") else "")))
    return findings


# ------------------------------------------------------------------------------------------------------
# deprecated-apis
# ------------------------------------------------------------------------------------------------------

#: API versions Kubernetes stopped serving, and the minor that removed them: the Kubernetes deprecation guide
#: (https://kubernetes.io/docs/reference/using-api/deprecation-guide/, "Removed APIs by release": v1.32, v1.29,
#: v1.27, v1.26, v1.25, v1.22, v1.16). Keyed (apiVersion, kind); kind "*" covers the whole group version.
REMOVED_APIS: dict[tuple[str, str], str] = {
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): "1.32",
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): "1.29",
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): "1.27",
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): "1.26",
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): "1.26",
    ("batch/v1beta1", "CronJob"): "1.25",
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): "1.25",
    ("events.k8s.io/v1beta1", "Event"): "1.25",
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): "1.25",
    ("policy/v1beta1", "PodDisruptionBudget"): "1.25",
    ("policy/v1beta1", "PodSecurityPolicy"): "1.25",
    ("node.k8s.io/v1beta1", "RuntimeClass"): "1.25",
    ("admissionregistration.k8s.io/v1beta1", "*"): "1.22",
    ("apiextensions.k8s.io/v1beta1", "*"): "1.22",
    ("apiregistration.k8s.io/v1beta1", "*"): "1.22",
    ("authentication.k8s.io/v1beta1", "*"): "1.22",
    ("authorization.k8s.io/v1beta1", "*"): "1.22",
    ("certificates.k8s.io/v1beta1", "*"): "1.22",
    ("coordination.k8s.io/v1beta1", "*"): "1.22",
    ("extensions/v1beta1", "*"): "1.22",
    ("networking.k8s.io/v1beta1", "*"): "1.22",
    ("rbac.authorization.k8s.io/v1beta1", "*"): "1.22",
    ("scheduling.k8s.io/v1beta1", "*"): "1.22",
    ("storage.k8s.io/v1beta1", "CSIDriver"): "1.22",
    ("storage.k8s.io/v1beta1", "CSINode"): "1.22",
    ("storage.k8s.io/v1beta1", "StorageClass"): "1.22",
    ("storage.k8s.io/v1beta1", "VolumeAttachment"): "1.22",
    ("apps/v1beta1", "*"): "1.16",
    ("apps/v1beta2", "*"): "1.16",
}

#: The API each typed resource of the hashicorp/kubernetes provider writes (its ``_v1``/``_v2`` suffix is the
#: Kubernetes API version). A type missing here fails the scan: it cannot be judged.
KUBERNETES_RESOURCE_APIS: dict[str, tuple[str, str]] = {
    "kubernetes_namespace_v1": ("v1", "Namespace"),
    "kubernetes_config_map_v1": ("v1", "ConfigMap"),
    "kubernetes_service_account_v1": ("v1", "ServiceAccount"),
    "kubernetes_service_v1": ("v1", "Service"),
    "kubernetes_secret_v1": ("v1", "Secret"),
    "kubernetes_deployment_v1": ("apps/v1", "Deployment"),
    "kubernetes_pod_disruption_budget_v1": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes_horizontal_pod_autoscaler_v2": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "kubernetes_ingress_v1": ("networking.k8s.io/v1", "Ingress"),
    "kubernetes_network_policy_v1": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes_role_v1": ("rbac.authorization.k8s.io/v1", "Role"),
    "kubernetes_role_binding_v1": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
}


def removed_in(api_version: str, kind: str) -> str | None:
    return REMOVED_APIS.get((api_version, kind)) or REMOVED_APIS.get((api_version, "*"))


def kubernetes_objects(stack: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(address, apiVersion, kind) of every Kubernetes object a synthesized stack creates; apiVersion "" for a
    typed resource this scan does not know."""
    for rtype, items in (stack.get("resource") or {}).items():
        if not rtype.startswith("kubernetes_"):
            continue
        for name, cfg in items.items():
            if rtype == "kubernetes_manifest":
                manifest = cfg.get("manifest") or {}
                yield f"{rtype}.{name}", str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
            else:
                api, kind = KUBERNETES_RESOURCE_APIS.get(rtype, ("", rtype))
                yield f"{rtype}.{name}", api, kind


def check_deprecated_apis(config: EnvironmentConfig, synth_dir: Path, regions: Sequence[str] = ()) -> list[Finding]:
    stacks_dir = synth_dir / "stacks"
    if not stacks_dir.is_dir():
        raise FileNotFoundError(f"{synth_dir} holds no synthesis (run `python3 tasks.py synth` with the same --env/--config first)")
    naming = Naming(config.name)
    findings: list[Finding] = []
    for region, target in cluster_versions(config, regions):
        objects = 0
        for suffix in ("addons", "apps"):
            path = stacks_dir / naming.stack(region, suffix) / "cdk.tf.json"
            if not path.is_file():
                findings.append(Finding(False, f"{path.parent.name}: not in {synth_dir}; synthesize {config.name} first"))
                continue
            for address, api, kind in kubernetes_objects(json.loads(path.read_text())):
                objects += 1
                if not api:
                    findings.append(Finding(False, f"{path.parent.name}: {address}: no known API version for {kind} "
                                                   "(add it to scripts/preflight.py KUBERNETES_RESOURCE_APIS)"))
                    continue
                gone = removed_in(api, kind)
                if gone is not None and _minor(target) >= _minor(gone):
                    findings.append(Finding(False, f"{path.parent.name}: {address}: {api} {kind} is no longer served since "
                                                   f"Kubernetes {gone}; {region} runs {target}"))
        findings.append(Finding(True, f"{region} ({target}): {objects} Kubernetes objects checked against the APIs removed by {target}"))
    return findings


# ------------------------------------------------------------------------------------------------------
# quota
# ------------------------------------------------------------------------------------------------------

#: Service Quotas code of "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" (vCPUs), per region.
EC2_STANDARD_VCPU_QUOTA = ("ec2", "L-1216C47A")
#: The guide's prerequisite: "Service quotas increased for: EC2 instances (minimum 50 vCPUs)".
GUIDE_MIN_VCPUS = 50


def check_quota(config: EnvironmentConfig, call: AwsCli, regions: Sequence[str] = ()) -> list[Finding]:
    findings: list[Finding] = []
    service, code = EC2_STANDARD_VCPU_QUOTA
    for region in selected_regions(config, regions):
        needed_by_nodes = capacity.vcpu_quota_needed(config.cluster, len(config.region(region).azs))
        needed = max(needed_by_nodes, GUIDE_MIN_VCPUS)
        value = float(call(["service-quotas", "get-service-quota", "--region", region, "--service-code", service,
                            "--quota-code", code])["Quota"]["Value"])
        why = (f"node group maximum {config.cluster.node_max_size} plus a node group update's surge, "
               f"{needed_by_nodes} vCPUs; the guide asks for {GUIDE_MIN_VCPUS}")
        if value >= needed:
            findings.append(Finding(True, f"EC2 On-Demand Standard vCPUs in {region}: quota {value:g} >= {needed} ({why})"))
        else:
            findings.append(Finding(False, f"EC2 On-Demand Standard vCPUs in {region}: quota {value:g} < {needed} ({why}): "
                                           f"request an increase of {code} in Service Quotas before the nodes need it"))
    return findings


# ------------------------------------------------------------------------------------------------------
# node-ami
# ------------------------------------------------------------------------------------------------------

AMI_NAME = "amazon-eks-node-al2023-x86_64-standard-{minor}-v{date}"
AMI_DATE = re.compile(r"-v(\d{8})$")


def check_node_ami(config: EnvironmentConfig, call: AwsCli, today: dt.date, regions: Sequence[str] = ()) -> list[Finding]:
    findings: list[Finding] = []
    for region, minor in cluster_versions(config, regions):
        pinned = versions.EKS_NODE_AMI_RELEASES[minor]
        pinned_date = pinned.rsplit("-", 1)[-1]
        answer = call(["ec2", "describe-images", "--region", region, "--owners", "amazon", "--filters",
                       f"Name=name,Values={AMI_NAME.format(minor=minor, date='*')}"])
        published = sorted({m[1] for image in answer.get("Images", []) if (m := AMI_DATE.search(str(image.get("Name", ""))))})
        name = AMI_NAME.format(minor=minor, date=pinned_date)
        if pinned_date not in published:
            findings.append(Finding(False, f"{region} ({minor}): {name} (release {pinned}) is not published in {region}; "
                                           f"newest: {', '.join(published[-2:]) or 'none'}"))
            continue
        newer = [d for d in published if d > pinned_date]
        if not newer:
            findings.append(Finding(True, f"{region} ({minor}): release {pinned} is the newest published"))
            continue
        first_newer = dt.datetime.strptime(newer[0], "%Y%m%d").date()
        age = (today - first_newer).days
        if age > versions.NODE_AMI_PATCH_DAYS:
            findings.append(Finding(False, f"{region} ({minor}): release {pinned} is {age} days behind v{newer[0]} (newest v{newer[-1]}); "
                                           f"patch due (at most {versions.NODE_AMI_PATCH_DAYS} days): pin the newest release in "
                                           "versions.EKS_NODE_AMI_RELEASES with its evidence"))
        else:
            findings.append(Finding(True, f"{region} ({minor}): release {pinned}; v{newer[-1]} is out since {first_newer}, "
                                          f"due within {versions.NODE_AMI_PATCH_DAYS} days"))
    return findings


# ------------------------------------------------------------------------------------------------------
# Command
# ------------------------------------------------------------------------------------------------------


def run(check: str, config: EnvironmentConfig, call: AwsCli, synth_dir: Path, today: dt.date,
        regions: Sequence[str] = ()) -> Iterable[AddonFinding | Finding]:
    if check == "addons":
        return check_addons(config, call, regions)
    if check == "insights":
        return check_insights(config, call, regions)
    if check == "deprecated-apis":
        return check_deprecated_apis(config, synth_dir, regions)
    if check == "quota":
        return check_quota(config, call, regions)
    return check_node_ami(config, call, today, regions)


def main(argv: list[str] | None = None, call: AwsCli | None = None, today: dt.date | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checks", nargs="*", metavar="CHECK", help=f"one or more of {', '.join(CHECKS)} (default: all)")
    parser.add_argument("--env", default="prod")
    parser.add_argument("--config", help="JSON overrides file (as for main.py)")
    parser.add_argument("--region", action="append", default=[],
                        help="check this region's cluster only (repeatable; default: every region of the environment)")
    parser.add_argument("--aws", default="aws", help="the AWS CLI v2 executable (default: aws on PATH)")
    parser.add_argument("--synth-dir", type=Path, default=ROOT / "cdktf.out",
                        help="synthesis the deprecated-apis check reads (default: the project's cdktf.out)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.checks if c not in CHECKS]
    if unknown:
        parser.error(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
    config = load_config(args.env, REGION_SPECS)
    # The topology the pipeline deploys: the committed environments/<env>.json (as main.py reads it), then --config.
    committed = ROOT / "environments" / f"{args.env}.json"
    for layer in (committed if committed.exists() else None, args.config):
        if layer:
            config = apply_overrides(config, load_overrides_file(layer))
    unknown_regions = sorted(set(args.region) - set(config.region_names))
    if unknown_regions:
        print(f"preflight: {', '.join(unknown_regions)} is not a region of {args.env} ({', '.join(config.region_names)})",
              file=sys.stderr)
        return 2
    call = call or aws_cli(args.aws)
    today = today or dt.datetime.now(dt.UTC).date()
    failed = 0
    for check in args.checks or CHECKS:
        try:
            findings = list(run(check, config, call, args.synth_dir, today, args.region))
        except (AwsCliError, FileNotFoundError) as exc:
            what = "cannot ask AWS" if isinstance(exc, AwsCliError) else "cannot read the synthesis"
            print(f"preflight {check}: {what}: {exc}", file=sys.stderr)
            return 2
        for finding in findings:
            print(finding.line())
        bad = [f for f in findings if not f.ok]
        failed += len(bad)
        if check == "addons":
            print(f"preflight addons: {len(findings) - len(bad)} of {len(findings)} pins offered by EKS")
        else:
            print(f"preflight {check}: {'passed' if not bad else f'{len(bad)} failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
