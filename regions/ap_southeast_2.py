"""ap-southeast-2 (Sydney): the guide's tertiary region."""

from constructs_lib.config import RegionSpec

REGION = RegionSpec(
    name="ap-southeast-2",
    vpc_cidr="10.2.0.0/16",
    azs=("ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"),
    # AWSManagedDomainsAggregateThreatList (route53resolver ListFirewallDomainLists, ManagedOwnerName "Route 53
    # Resolver DNS Firewall"): the same ID in two independent published lookups, elduds/terraform-aws-route53-
    # firewall-domainlists (all_lists.json) and stdapi-ai/terraform-aws-stdapi-ai (its DNS Firewall table).
    dns_firewall_threat_list_id="rslvr-fdl-9be336ef32844e5",
)
