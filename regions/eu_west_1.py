"""eu-west-1 (Ireland): the guide's secondary region, failover target for the database and DNS."""

from constructs_lib.config import RegionSpec

REGION = RegionSpec(
    name="eu-west-1",
    vpc_cidr="10.1.0.0/16",
    azs=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
    # AWSManagedDomainsAggregateThreatList (route53resolver ListFirewallDomainLists, ManagedOwnerName "Route 53
    # Resolver DNS Firewall"): the same ID in two independent published lookups, elduds/terraform-aws-route53-
    # firewall-domainlists (all_lists.json) and stdapi-ai/terraform-aws-stdapi-ai (its DNS Firewall table).
    dns_firewall_threat_list_id="rslvr-fdl-a88f2f26cc6a4296",
)
