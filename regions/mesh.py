"""``globalpay-<env>-mesh``: transit gateway peering between every pair of regions, with the static routes.

Its own workspace, applied right after every core stack and before any ``-apps`` stack: the pods of the
regions without the database writer reach it over this mesh (and the writer's region reaches the others),
so the services must not start before it exists. Transit gateway peering is not transitive: a full mesh.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

from constructs import Construct

from constructs_lib.config import EnvironmentConfig
from constructs_lib.connectivity import HubEnd, TransitGatewayPeering
from constructs_lib.naming import Naming
from regions.base import GlobalPayStack
from regions.core import CoreOutputs


def provider_alias(region: str) -> str:
    return region.replace("-", "_")


def mesh_stack_name(config: EnvironmentConfig) -> str:
    return Naming(config.name).stack("mesh")


class MeshStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, cores: Mapping[str, CoreOutputs], *, backend: str) -> None:
        # The peering requests are made from each pair's first region; the default provider manages nothing.
        super().__init__(scope, mesh_stack_name(config), config=config, region=config.state.region, backend=backend)
        self.regional_providers = {r: self.aws_provider(r, alias=provider_alias(r)) for r in config.region_names}

        def hub(region: str) -> HubEnd:
            core = cores[region]
            return HubEnd(
                region=region,
                provider=self.regional_providers[region],
                transit_gateway_id=core.network.transit_gateway_id,
                route_table_id=core.network.transit_gateway_route_table_id,
                vpc_cidr=config.region(region).vpc_cidr,
            )

        # Construct ids as they were in the global stack: the same addresses in this workspace.
        self.peerings = {
            (a, b): TransitGatewayPeering(self, f"tgw-peering-{a}-{b}", naming=self.naming, requester=hub(a), accepter=hub(b))
            for a, b in combinations(config.region_names, 2)
        }
