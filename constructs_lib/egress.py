"""Where the platform's VPCs may send traffic (PCI DSS 1.3.2: outbound traffic from the cardholder data environment
is restricted to what is necessary; 1.4.2).

* :class:`DnsFirewall` (every VPC): Route 53 Resolver DNS Firewall. Rules, first match wins: (1) BLOCK the AWS
  managed ``AWSManagedDomainsAggregateThreatList`` (malware, botnet command and control, DNS tunnelling), even
  under an allowed wildcard such as ``*.amazonaws.com``; (2) ALLOW ``egress.allowed_domains``; (3) BLOCK every
  other name. The firewall fails closed (``firewall_fail_open = DISABLED``) and its VPC association is
  mutation-protected: removing it is a deliberate two-step change.
* :class:`NetworkFirewall` (``egress.network_firewall``): AWS Network Firewall between the private subnets and the
  NAT gateways, one endpoint per AZ. Its stateful engine runs in strict order: traffic between the platform's
  VPCs passes (the ALB and the transit gateway reach the pods through the same route tables), HTTPS and HTTP to
  an allowed domain pass (TLS SNI, HTTP Host), and every other established flow is dropped and logged
  (``aws:drop_established``, ``aws:alert_established``). Name resolution alone cannot stop a client that
  connects to an IP address it already knows; the firewall can.

The VPC endpoints and their policies are the network module's (``constructs_lib/network.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf import Fn, TerraformLocal
from constructs import Construct

from constructs_lib.common import AccountContext, log_group_delivery_policy, protected
from constructs_lib.providers import aws
from constructs_lib.validation import NETWORK_FIREWALL_DOMAIN_CAPACITY

#: Priorities of the DNS Firewall rules (first match wins) and of the rule group on the VPC.
THREAT_LIST_PRIORITY = 100
ALLOW_LIST_PRIORITY = 200
CATCH_ALL_PRIORITY = 300
#: DNS Firewall takes association priorities 101-9900 (100 and 9901+ are Firewall Manager's).
ASSOCIATION_PRIORITY = 101


#: Allowed names served inside AWS's network: the VPC endpoints, the VPC's own host names.
AWS_INTERNAL_DOMAINS = ("*.amazonaws.com", "*.compute.internal", "ec2.internal", "*.ec2.internal")


def needs_internet(allowed_domains: Sequence[str]) -> bool:
    """Whether the allow-list names anything beyond AWS's own endpoints: only then do the nodes need HTTPS to
    0.0.0.0/0 (through NAT) next to the VPC and the S3 prefix list."""
    return any(domain not in AWS_INTERNAL_DOMAINS for domain in allowed_domains)


def network_firewall_targets(allowed_domains: Sequence[str]) -> list[str]:
    """The allow-list in Network Firewall's domain syntax: ``*.example.com`` (DNS Firewall) is ``.example.com``
    (the domain and its subdomains); names inside the VPC (``*.internal``) never reach the firewall."""
    targets = []
    for domain in allowed_domains:
        if domain.endswith(".internal") or domain == "ec2.internal":
            continue
        targets.append("." + domain[2:] if domain.startswith("*.") else domain)
    return sorted(set(targets))


@dataclass(frozen=True)
class DnsFirewallProps:
    """Props of :class:`DnsFirewall`."""

    #: ``globalpay-prod``: prefix of the domain lists and the rule group.
    prefix: str
    vpc_id: str
    allowed_domains: Sequence[str]
    #: The region's ``AWSManagedDomainsAggregateThreatList`` id (``RegionSpec.dns_firewall_threat_list_id``).
    threat_list_id: str


class DnsFirewall(Construct):
    """``allowed-domains`` and ``all-domains`` lists, ``rule-group`` with ``block-threats``, ``allow-listed`` and
    ``block-unlisted``, ``association`` to the VPC, ``config`` (fail closed)."""

    def __init__(self, scope: Construct, id: str, props: DnsFirewallProps) -> None:
        super().__init__(scope, id)
        allowed = aws.route53_resolver_firewall_domain_list.Route53ResolverFirewallDomainList(
            self, "allowed-domains", name=f"{props.prefix}-allowed-domains", domains=sorted(props.allowed_domains),
        )
        everything = aws.route53_resolver_firewall_domain_list.Route53ResolverFirewallDomainList(
            self, "all-domains", name=f"{props.prefix}-all-domains", domains=["*"],
        )
        self.rule_group = aws.route53_resolver_firewall_rule_group.Route53ResolverFirewallRuleGroup(
            self, "rule-group", name=f"{props.prefix}-egress",
        )
        rules = (
            ("block-threats", THREAT_LIST_PRIORITY, "BLOCK", props.threat_list_id),
            ("allow-listed", ALLOW_LIST_PRIORITY, "ALLOW", allowed.id),
            ("block-unlisted", CATCH_ALL_PRIORITY, "BLOCK", everything.id),
        )
        self.rules = []
        for rule_id, priority, action, domain_list in rules:
            kwargs: dict[str, Any] = {"block_response": "NXDOMAIN"} if action == "BLOCK" else {}
            self.rules.append(aws.route53_resolver_firewall_rule.Route53ResolverFirewallRule(
                self,
                rule_id,
                name=rule_id,
                action=action,
                priority=priority,
                firewall_rule_group_id=self.rule_group.id,
                firewall_domain_list_id=domain_list,
                **kwargs,
            ))
        # Fail closed: while DNS Firewall cannot answer, queries are refused instead of resolved unfiltered.
        aws.route53_resolver_firewall_config.Route53ResolverFirewallConfig(
            self, "config", resource_id=props.vpc_id, firewall_fail_open="DISABLED",
        )
        self.association = aws.route53_resolver_firewall_rule_group_association.Route53ResolverFirewallRuleGroupAssociation(
            self,
            "association",
            name=f"{props.prefix}-egress",
            firewall_rule_group_id=self.rule_group.id,
            vpc_id=props.vpc_id,
            priority=ASSOCIATION_PRIORITY,
            # Removing the association is two changes: disable the protection, then remove.
            mutation_protection="ENABLED",
            depends_on=self.rules,
        )


@dataclass(frozen=True)
class NetworkFirewallProps:
    """Props of :class:`NetworkFirewall`."""

    #: ``globalpay-prod``: prefix of the firewall, its policy and rule groups.
    prefix: str
    vpc_id: str
    #: One firewall subnet per AZ (the endpoints are created there).
    subnet_ids: Sequence[str]
    #: The platform's VPC CIDRs (``HOME_NET``): traffic among them is never the firewall's business.
    platform_cidrs: Sequence[str]
    allowed_domains: Sequence[str]
    #: The region's data key: firewall, policy, rule groups and alert log group.
    kms_key_arn: str
    region: str
    account: AccountContext
    log_retention_days: int = 365


class NetworkFirewall(Construct):
    """``internal-traffic`` and ``allowed-domains`` rule groups, ``policy``, ``firewall``, ``alert-log-group`` with
    its delivery policy and ``logging``. ``endpoint_ids``: the firewall endpoint of each AZ (a Terraform map)."""

    def __init__(self, scope: Construct, id: str, props: NetworkFirewallProps) -> None:
        super().__init__(scope, id)
        encryption = {"type": "CUSTOMER_KMS", "key_id": props.kms_key_arn}
        internal = aws.networkfirewall_rule_group.NetworkfirewallRuleGroup(
            self,
            "internal-traffic",
            name=f"{props.prefix}-internal-traffic",
            description="Traffic between the platform's VPCs passes: the ALB, the transit gateway and the pods",
            type="STATEFUL",
            capacity=10,
            encryption_configuration=encryption,
            rule_group={
                "rule_variables": {"ip_sets": [{"key": "HOME_NET", "ip_set": {"definition": sorted(props.platform_cidrs)}}]},
                "rules_source": {"rules_string": 'pass ip $HOME_NET any -> $HOME_NET any (msg:"platform-internal"; sid:100001; rev:1;)'},
                "stateful_rule_options": {"rule_order": "STRICT_ORDER"},
            },
        )
        domains = aws.networkfirewall_rule_group.NetworkfirewallRuleGroup(
            self,
            "allowed-domains",
            name=f"{props.prefix}-allowed-domains",
            description="HTTPS (TLS SNI) and HTTP (Host) to the egress allow-list",
            type="STATEFUL",
            capacity=NETWORK_FIREWALL_DOMAIN_CAPACITY,
            encryption_configuration=encryption,
            rule_group={
                "rule_variables": {"ip_sets": [{"key": "HOME_NET", "ip_set": {"definition": sorted(props.platform_cidrs)}}]},
                "rules_source": {"rules_source_list": {
                    "generated_rules_type": "ALLOWLIST",
                    "target_types": ["TLS_SNI", "HTTP_HOST"],
                    "targets": network_firewall_targets(props.allowed_domains),
                }},
                "stateful_rule_options": {"rule_order": "STRICT_ORDER"},
            },
        )
        policy = aws.networkfirewall_firewall_policy.NetworkfirewallFirewallPolicy(
            self,
            "policy",
            name=f"{props.prefix}-egress",
            encryption_configuration=encryption,
            firewall_policy={
                "stateless_default_actions": ["aws:forward_to_sfe"],
                "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
                "stateful_engine_options": {"rule_order": "STRICT_ORDER"},
                # A TLS handshake passes until its SNI is seen; an established flow nothing passed is dropped.
                "stateful_default_actions": ["aws:drop_established", "aws:alert_established"],
                "stateful_rule_group_reference": [
                    {"priority": 1, "resource_arn": internal.arn},
                    {"priority": 2, "resource_arn": domains.arn},
                ],
            },
        )
        self.firewall = aws.networkfirewall_firewall.NetworkfirewallFirewall(
            self,
            "firewall",
            name=f"{props.prefix}-egress",
            description="Egress allow-list between the private subnets and the NAT gateways",
            vpc_id=props.vpc_id,
            firewall_policy_arn=policy.arn,
            subnet_mapping=[{"subnet_id": s} for s in props.subnet_ids],
            delete_protection=True,
            subnet_change_protection=True,
            encryption_configuration=encryption,
            lifecycle=protected(),
        )
        #: ``{availability zone: endpoint id}`` from the firewall's sync states (known after apply).
        self.endpoint_ids = TerraformLocal(
            self,
            "endpoint-ids",
            f"${{{{for state in {self.firewall.terraform_resource_type}.{self.firewall.friendly_unique_id}"
            f".firewall_status[0].sync_states : state.availability_zone => state.attachment[0].endpoint_id}}}}",
        )
        self.alert_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "alert-log-group",
            name=f"/aws/network-firewall/{props.prefix}-egress/alert",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
            lifecycle=protected(),  # audit trail of dropped egress (PCI DSS 10.2)
        )
        delivery = aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "log-delivery-policy",
            policy_name=f"{props.prefix}-network-firewall-log-delivery",
            policy_document=log_group_delivery_policy("NetworkFirewallLogDelivery", self.alert_log_group.arn, props.account, props.region),
        )
        aws.networkfirewall_logging_configuration.NetworkfirewallLoggingConfiguration(
            self,
            "logging",
            firewall_arn=self.firewall.arn,
            logging_configuration={"log_destination_config": [{
                "log_destination_type": "CloudWatchLogs",
                "log_type": "ALERT",
                "log_destination": {"logGroup": self.alert_log_group.name},
            }]},
            depends_on=[delivery],
        )

    def endpoint_id(self, availability_zone: str) -> str:
        """The firewall endpoint in ``availability_zone`` (a route target)."""
        return Fn.lookup(self.endpoint_ids.as_any_map, availability_zone, None)
