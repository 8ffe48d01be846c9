"""Wiring: one environment's configuration -> every workspace of the cdktf App, and the order they deploy in.

The stack graph (docs/design.md, "Stack graph"); every arrow is a cdktf dependency (a cross-stack reference or
an explicit ``add_dependency``), so ``npx cdktf deploy '*'`` applies a brand-new environment in one pass:

    bootstrap
      -> <region>-keys            (every region)
      -> <region>                 (core: origin region after every -keys stack, the DR region after the origin)
      -> <region>-security        (after its core stack; the origin's first: AWS Config's role and bucket)
      -> mesh                     (transit gateway peering: after every core stack)
      -> <region>-addons -> <region>-apps   (apps also after the mesh and the writer's core stack)
      -> global                   (after every core and apps stack)
      -> <region>-edge            (after global, its region's apps, the replication destination's core)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cdktf import App, TerraformStack

from constructs_lib.config import EnvironmentConfig
from constructs_lib.database import database_regions, writer_region
from regions.addons import AddonsStack
from regions.apps import AppsStack
from regions.bootstrap import BootstrapStack
from regions.core import RegionCoreStack, replication_destination
from regions.edge import RegionEdgeStack
from regions.global_stack import GlobalStack
from regions.keys import RegionKeysStack
from regions.mesh import MeshStack
from regions.security import RegionSecurityStack

Progress = Callable[[str], None] | None


@dataclass
class Workspaces:
    app: App
    stacks: list[TerraformStack] = field(default_factory=list)
    keys: dict[str, RegionKeysStack] = field(default_factory=dict)
    mesh: MeshStack | None = None
    security: dict[str, RegionSecurityStack] = field(default_factory=dict)
    cores: dict[str, RegionCoreStack] = field(default_factory=dict)
    addons: dict[str, AddonsStack] = field(default_factory=dict)
    apps: dict[str, AppsStack] = field(default_factory=dict)
    edges: dict[str, RegionEdgeStack] = field(default_factory=dict)
    bootstrap: BootstrapStack | None = None
    global_stack: GlobalStack | None = None


def build_app(config: EnvironmentConfig, outdir: str, *, backend: str | None = None, progress: Progress = None) -> Workspaces:
    """Every workspace of ``config``, in deploy order, with the dependencies that give cdktf that order."""
    backend = backend or config.state.backend
    app = App(outdir=outdir, stack_traces=False)
    spaces = Workspaces(app=app)
    regions = config.region_names
    origin = config.database.origin_region

    def timed(build: Callable[[], TerraformStack]) -> TerraformStack:
        started = time.perf_counter()
        stack = build()
        spaces.stacks.append(stack)
        if spaces.bootstrap is not None and stack is not spaces.bootstrap:
            # Every S3-backed workspace keeps its state in the bucket the bootstrap stack creates.
            stack.add_dependency(spaces.bootstrap)
        if progress:
            progress(f"  built {stack.node.id:<36} {time.perf_counter() - started:6.2f} s")
        return stack

    spaces.bootstrap = timed(lambda: BootstrapStack(app, config))
    for region in regions:
        spaces.keys[region] = timed(lambda r=region: RegionKeysStack(app, config, r, backend=backend))
    # The origin first (its read replicas and replicated secrets are the others' sources), then the rest.
    for region in sorted(regions, key=lambda r: r != origin):
        core = timed(lambda r=region: RegionCoreStack(
            app, config, r,
            keys=spaces.keys[r].keys,
            secret_replica_keys={o: spaces.keys[o].keys.secrets_key_arn for o in regions if o != r},
            backend=backend,
        ))
        if region == origin:
            # The shared secrets replicate into every region, encrypted with that region's secrets key.
            for other in regions:
                core.add_dependency(spaces.keys[other])
        elif region in database_regions(config) and origin in spaces.cores:
            # The cross-region read replica's source is the origin's writer (named by ARN).
            core.add_dependency(spaces.cores[origin])
        spaces.cores[region] = core
    # Detection and response: the origin's first (account-wide singletons, AWS Config's role and bucket).
    for region in sorted(regions, key=lambda r: r != origin):
        security = timed(lambda r=region: RegionSecurityStack(
            app, config, spaces.cores[r].outputs, origin_keys=spaces.keys[origin].keys, backend=backend,
        ))
        if region != origin and origin in spaces.security:
            security.add_dependency(spaces.security[origin])
        spaces.security[region] = security
    # The transit gateway mesh, before any service starts: pods outside the writer's region reach it through it.
    spaces.mesh = timed(lambda: MeshStack(app, config, {r: s.outputs for r, s in spaces.cores.items()}, backend=backend))
    writer = spaces.cores[writer_region(config)].outputs  # primary and secondary are always synthesized
    for region in regions:
        core = spaces.cores[region].outputs
        addons = spaces.addons[region] = timed(lambda c=core: AddonsStack(app, config, c, backend=backend))
        apps = timed(lambda c=core: AppsStack(app, config, c, writer, backend=backend))
        # CRDs (external-secrets) and the load balancer controller's webhook exist before the apps are planned;
        # the mesh routes them to the database writer in another region.
        apps.add_dependency(addons)
        apps.add_dependency(spaces.mesh)
        spaces.apps[region] = apps
    spaces.global_stack = timed(lambda: GlobalStack(app, config, {r: s.outputs for r, s in spaces.cores.items()}, backend=backend))
    for apps in spaces.apps.values():
        # Route 53 and the dashboard find each region's load balancer, which the apps stacks' Ingress creates.
        spaces.global_stack.add_dependency(apps)
    for region in regions:
        edge = timed(lambda r=region: RegionEdgeStack(app, config, spaces.cores[r].outputs, backend=backend))
        edge.add_dependency(spaces.apps[region])  # the load balancer exists
        edge.add_dependency(spaces.global_stack)  # the Shield Advanced subscription exists
        target = replication_destination(config, region)
        if target is not None and target[0] in spaces.cores:
            edge.add_dependency(spaces.cores[target[0]])  # the replication destination's bucket and key
        spaces.edges[region] = edge
    # Synth-time policy (cdk-nag style): refuses unencrypted, public, unprotected, untagged or secret-bearing
    # resources before any stack's JSON is written.
    from constructs_lib.policy import apply_policy

    apply_policy(app)
    return spaces
