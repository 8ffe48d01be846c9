"""Inter-region connectivity: transit gateway peering between two regions' hubs, with the static routes
that make each VPC reach the other (transit gateway peering does not propagate routes)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from constructs import Construct

from constructs_lib.naming import Naming
from constructs_lib.providers import aws


@dataclass(frozen=True)
class HubEnd:
    """One side of a peering: its region's provider, hub and VPC range."""

    region: str
    provider: TerraformProvider
    transit_gateway_id: str
    route_table_id: str
    vpc_cidr: str


class TransitGatewayPeering(Construct):
    def __init__(self, scope: Construct, id: str, *, naming: Naming, requester: HubEnd, accepter: HubEnd) -> None:
        super().__init__(scope, id)
        name = naming.name("tgw-peering", requester.region, accepter.region)
        self.attachment = aws.ec2_transit_gateway_peering_attachment.Ec2TransitGatewayPeeringAttachment(
            self,
            "attachment",
            provider=requester.provider,
            transit_gateway_id=requester.transit_gateway_id,
            peer_transit_gateway_id=accepter.transit_gateway_id,
            peer_region=accepter.region,
            tags={"Name": name},
        )
        accepted = aws.ec2_transit_gateway_peering_attachment_accepter.Ec2TransitGatewayPeeringAttachmentAccepter(
            self,
            "accepter",
            provider=accepter.provider,
            transit_gateway_attachment_id=self.attachment.id,
            tags={"Name": name},
        )
        for label, end, peer in (("requester", requester, accepter), ("accepter", accepter, requester)):
            aws.ec2_transit_gateway_route.Ec2TransitGatewayRoute(
                self,
                f"{label}-route",
                provider=end.provider,
                destination_cidr_block=peer.vpc_cidr,
                transit_gateway_attachment_id=self.attachment.id,
                transit_gateway_route_table_id=end.route_table_id,
                depends_on=[accepted],
            )
