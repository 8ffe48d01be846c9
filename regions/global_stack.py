"""``globalpay-<env>-global``: what spans regions. Transit gateway peering between every pair of regions,
Route 53 failover, budgets and the CloudFront edge live here; regional values arrive by remote state."""

from __future__ import annotations

from itertools import combinations
from typing import Mapping

from constructs import Construct

from constructs_lib.config import EnvironmentConfig
from constructs_lib.connectivity import HubEnd, TransitGatewayPeering
from regions.base import GlobalPayStack
from regions.core import RegionCoreStack


def provider_alias(region: str) -> str:
    return region.replace("-", "_")


class GlobalStack(GlobalPayStack):
    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        cores: Mapping[str, RegionCoreStack],
        *,
        backend: str,
    ) -> None:
        # Global services (Route 53, Budgets, CloudFront and its WAF) are managed from us-east-1.
        super().__init__(scope, f"globalpay-{config.name}-global", config=config, region="us-east-1", backend=backend)
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

        # Full mesh: transit gateway peering is not transitive, so every pair of regions is peered.
        self.peerings = {
            (a, b): TransitGatewayPeering(self, f"tgw-peering-{a}-{b}", naming=self.naming, requester=hub(a), accepter=hub(b))
            for a, b in combinations(config.region_names, 2)
        }
