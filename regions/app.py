"""Wiring: one environment's configuration -> every workspace of the cdktf App."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cdktf import App, TerraformStack

from constructs_lib.config import EnvironmentConfig
from regions.bootstrap import BootstrapStack
from regions.core import RegionCoreStack
from regions.global_stack import GlobalStack
from regions.k8s import KubernetesStack

Progress = Callable[[str], None] | None


@dataclass
class Workspaces:
    app: App
    stacks: list[TerraformStack] = field(default_factory=list)
    cores: dict[str, RegionCoreStack] = field(default_factory=dict)
    #: ``globalpay-<env>-<region>-k8s`` by region: Helm add-ons and workloads (issue 4).
    k8s: dict[str, KubernetesStack] = field(default_factory=dict)
    bootstrap: BootstrapStack | None = None
    global_stack: GlobalStack | None = None


def build_app(config: EnvironmentConfig, outdir: str, *, backend: str | None = None, progress: Progress = None) -> Workspaces:
    """Every workspace of ``config``: bootstrap, one core and one -k8s stack per region, the global stack."""
    backend = backend or config.state.backend
    app = App(outdir=outdir, stack_traces=False)
    spaces = Workspaces(app=app)

    def timed(build: Callable[[], TerraformStack]) -> TerraformStack:
        started = time.perf_counter()
        stack = build()
        spaces.stacks.append(stack)
        if progress:
            progress(f"  built {stack.node.id:<36} {time.perf_counter() - started:6.2f} s")
        return stack

    spaces.bootstrap = timed(lambda: BootstrapStack(app, config))
    for region in config.region_names:
        spaces.cores[region] = timed(lambda r=region: RegionCoreStack(app, config, r, backend=backend))
    # After every core stack: each -k8s stack reads its cluster through cross-stack references (remote state).
    for region in config.region_names:
        spaces.k8s[region] = timed(lambda r=region: KubernetesStack(app, config, spaces.cores[r], backend=backend))
    spaces.global_stack = timed(lambda: GlobalStack(app, config, spaces.cores, backend=backend))
    # Synth-time policy (cdk-nag style): refuses unencrypted, public, unprotected, untagged or secret-bearing
    # resources before any stack's JSON is written.
    from constructs_lib.policy import apply_policy

    apply_policy(app)
    return spaces
