"""us-east-1 (N. Virginia): the guide's primary region and the home of its literal network plan."""

from constructs_lib.config import RegionSpec

REGION = RegionSpec(
    name="us-east-1",
    vpc_cidr="10.0.0.0/16",  # the guide's VPC; its subnets follow from the shared plan below
    azs=("us-east-1a", "us-east-1b", "us-east-1c"),
    # AWSManagedDomainsAggregateThreatList (route53resolver ListFirewallDomainLists, ManagedOwnerName "Route 53
    # Resolver DNS Firewall"): the same ID in two independent published lookups, elduds/terraform-aws-route53-
    # firewall-domainlists (all_lists.json) and stdapi-ai/terraform-aws-stdapi-ai (its DNS Firewall table).
    dns_firewall_threat_list_id="rslvr-fdl-15f4860b1ad54ead",
)
