#!/usr/bin/env python
"""Pre-flight checks against the target AWS account, before a plan: what the emulator cannot know.

    python3 tasks.py preflight [--env prod] [--config FILE] [--region us-east-1] [--aws aws]

``addons``: every pinned EKS managed add-on version (``constructs_lib/versions.py`` EKS_ADDONS) is one that
EKS offers for the cluster's Kubernetes version in every region of the environment. CreateAddon refuses a
version whose compatibilities do not list the cluster's version, and a pin's evidence can be indirect (a build
seen on another cluster version, a chart release): ``aws eks describe-addon-versions --kubernetes-version
<v> --addon-name <name>`` (EKS API DescribeAddonVersions) lists exactly the versions EKS will install on that
Kubernetes version, so the check is the authority the pins are held to. It needs read credentials with
``eks:DescribeAddonVersions`` (the pull-request plan role has it) and the AWS CLI v2 on PATH.

The configuration is the one the pipeline deploys: the committed ``environments/<env>.json``, then ``--config``.

Exit status 0 when every pin is offered, 1 when one is not (one line per add-on and region, with the versions
EKS does offer), 2 when the AWS CLI fails (no credentials, no network): a pre-flight that cannot look is not
a pass.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib import versions  # noqa: E402
from constructs_lib.config import EnvironmentConfig, apply_overrides, load_config, load_overrides_file  # noqa: E402
from regions import REGION_SPECS  # noqa: E402

#: Runs the AWS CLI with these arguments and returns its parsed JSON output (tests pass a recording).
AwsCli = Callable[[Sequence[str]], Mapping]


class AwsCliError(RuntimeError):
    """The AWS CLI could not answer (credentials, network, throttling)."""


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


def aws_cli(binary: str = "aws") -> AwsCli:
    def call(args: Sequence[str]) -> Mapping:
        try:
            done = subprocess.run([binary, *args, "--output", "json"], capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AwsCliError(f"{binary}: {exc}") from None
        if done.returncode != 0:
            raise AwsCliError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"{binary} exited {done.returncode}")
        return json.loads(done.stdout or "{}")
    return call


def addon_pins(config: EnvironmentConfig, regions: Sequence[str] = ()) -> Iterator[tuple[str, str, Mapping[str, str]]]:
    """(region, Kubernetes version, {add-on: pinned version}) of every cluster of the environment (or of
    ``regions``)."""
    for region in config.region_names:
        if not regions or region in regions:
            yield region, versions.KUBERNETES_VERSION, versions.EKS_ADDONS


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in "".join(c if c.isdigit() else " " for c in version).split())


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


def main(argv: list[str] | None = None, call: AwsCli | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("check", nargs="?", default="addons", choices=("addons",))
    parser.add_argument("--env", default="prod")
    parser.add_argument("--config", help="JSON overrides file (as for main.py)")
    parser.add_argument("--region", action="append", default=[],
                        help="check this region's cluster only (repeatable; default: every region of the environment)")
    parser.add_argument("--aws", default="aws", help="the AWS CLI v2 executable (default: aws on PATH)")
    args = parser.parse_args(argv)
    config = load_config(args.env, REGION_SPECS)
    # The topology the pipeline deploys: the committed environments/<env>.json (as main.py reads it), then --config.
    committed = ROOT / "environments" / f"{args.env}.json"
    for layer in (committed if committed.exists() else None, args.config):
        if layer:
            config = apply_overrides(config, load_overrides_file(layer))
    unknown = sorted(set(args.region) - set(config.region_names))
    if unknown:
        print(f"preflight: {', '.join(unknown)} is not a region of {args.env} ({', '.join(config.region_names)})", file=sys.stderr)
        return 2
    try:
        findings = check_addons(config, call or aws_cli(args.aws), args.region)
    except AwsCliError as exc:
        print(f"preflight: cannot ask AWS: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding.line())
    failed = [f for f in findings if not f.ok]
    print(f"preflight addons: {len(findings) - len(failed)} of {len(findings)} pins offered by EKS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
