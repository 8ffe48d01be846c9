"""The API's traffic gate: Route 53 Application Recovery Controller (ARC) routing controls, one per failover region.

Route 53 failover alone moves traffic both ways by itself: when the primary region's health check fails,
the SECONDARY record answers, and when the region recovers, traffic goes back, to pods that may still write
to a fenced old database writer. The gate makes the way back an explicit decision:

* each failover region has a routing control (an on/off switch held by the ARC cluster, changed through the
  cluster's data plane: five regional endpoints, none of them needing us-east-1, where Route 53's and the
  failed region's control planes may be down) and a Route 53 health check that follows it;
* each failover record's health is the AND of the region's load balancer check and its routing control
  (``constructs_lib.dns``): an outage still moves traffic at once (the load balancer check fails), but a
  region whose control an operator turned off gets no traffic however healthy it looks, until someone turns
  it on again;
* an assertion safety rule keeps at least one control on (ARC refuses an update that would turn every
  region off: no fail-closed by mistake);
* an IAM role that may read and flip exactly these controls (``traffic-gate``), assumable by the operators'
  roles: every flip is a CloudTrail event with the caller's session name.

New routing controls start OFF: deploying this for the first time, or a control that was replaced, takes
both records' health away; docs/runbooks/deploy.md turns them on after the first deploy. Controls and the
cluster are protected like stateful resources: their state lives in ARC, not in Terraform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document, protected
from constructs_lib.providers import aws

#: ARC's data-plane actions on routing controls (Service Authorization Reference, "Amazon Route 53 Recovery
#: Cluster"): read one, list the panel's, change one or several at once.
GATE_ACTIONS = (
    "route53-recovery-cluster:GetRoutingControlState",
    "route53-recovery-cluster:ListRoutingControls",
    "route53-recovery-cluster:UpdateRoutingControlState",
    "route53-recovery-cluster:UpdateRoutingControlStates",
)
#: Reading the configuration (cluster endpoints, the panel's controls and rules) to find what to flip.
CONFIG_READ_ACTIONS = (
    "route53-recovery-control-config:DescribeCluster",
    "route53-recovery-control-config:DescribeControlPanel",
    "route53-recovery-control-config:DescribeRoutingControl",
    "route53-recovery-control-config:DescribeSafetyRule",
    "route53-recovery-control-config:ListRoutingControls",
    "route53-recovery-control-config:ListSafetyRules",
)
#: Evaluation period of the safety rule: an update that would break it is refused; 5 s is ARC's minimum.
SAFETY_RULE_WAIT_MS = 5000


@dataclass(frozen=True)
class TrafficGateProps:
    """Inputs of :class:`TrafficGate`."""

    #: ``globalpay-<env>``: prefix of every name.
    prefix: str
    #: The regions with a failover record (primary and secondary), one routing control each.
    regions: Sequence[str]
    account: AccountContext
    #: Principals (role ARNs or role names in this account) that may assume the gate role.
    operators: Sequence[str]
    #: An existing ARC cluster to use; default empty: create one.
    cluster_arn: str = ""


class TrafficGate(Construct):
    """ARC cluster (unless given), control panel, one routing control and health check per region, a safety rule,
    and the role that flips them. ``health_check_ids[region]``: the check that follows the region's control."""

    def __init__(self, scope: Construct, id: str, props: TrafficGateProps) -> None:
        super().__init__(scope, id)
        account = props.account
        if props.cluster_arn:
            self.cluster_arn = props.cluster_arn
        else:
            # Billed by the hour (scripts/cost.py); one per environment unless edge.recovery_cluster_arn shares one.
            cluster = aws.route53_recoverycontrolconfig_cluster.Route53RecoverycontrolconfigCluster(
                self, "cluster", name=f"{props.prefix}-recovery", lifecycle=protected(),
            )
            self.cluster_arn = cluster.arn
        self.control_panel = aws.route53_recoverycontrolconfig_control_panel.Route53RecoverycontrolconfigControlPanel(
            self, "control-panel", name=f"{props.prefix}-api", cluster_arn=self.cluster_arn, lifecycle=protected(),
        )
        self.routing_controls: dict[str, aws.route53_recoverycontrolconfig_routing_control.Route53RecoverycontrolconfigRoutingControl] = {}
        self.health_check_ids: dict[str, str] = {}
        for region in props.regions:
            control = aws.route53_recoverycontrolconfig_routing_control.Route53RecoverycontrolconfigRoutingControl(
                self,
                f"routing-control-{region}",
                name=f"{props.prefix}-api-{region}",
                cluster_arn=self.cluster_arn,
                control_panel_arn=self.control_panel.arn,
                lifecycle=protected(),
            )
            self.routing_controls[region] = control
            check = aws.route53_health_check.Route53HealthCheck(
                self,
                f"health-check-{region}",
                type="RECOVERY_CONTROL",
                routing_control_arn=control.arn,
                tags={"Name": f"{props.prefix}-api-gate-{region}"},
            )
            self.health_check_ids[region] = check.id
        aws.route53_recoverycontrolconfig_safety_rule.Route53RecoverycontrolconfigSafetyRule(
            self,
            "at-least-one-region",
            name=f"{props.prefix}-api-at-least-one-region",
            control_panel_arn=self.control_panel.arn,
            asserted_controls=[self.routing_controls[r].arn for r in props.regions],
            wait_period_ms=SAFETY_RULE_WAIT_MS,
            rule_config={"inverted": False, "threshold": 1, "type": "ATLEAST"},
        )
        operators = [
            o if o.startswith("arn:") else f"arn:{account.partition}:iam::{account.account_id}:role/{o}" for o in props.operators
        ]
        self.operator_role = aws.iam_role.IamRole(
            self,
            "operator-role",
            name=f"{props.prefix}-traffic-gate",
            description="Flips the API's routing controls (docs/runbooks/failover.md): assumed by the on-call lead",
            max_session_duration=3600,
            assume_role_policy=policy_document([{
                "Effect": "Allow",
                "Principal": {"AWS": sorted(operators)},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            }]),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "operator-policy",
            name="flip-api-routing-controls",
            role=self.operator_role.id,
            policy=policy_document([
                {"Sid": "FlipTheApiControls", "Effect": "Allow", "Action": list(GATE_ACTIONS),
                 "Resource": [self.routing_controls[r].arn for r in props.regions]},
                # ListRoutingControls and the configuration reads name the panel and cluster, not a control.
                {"Sid": "ReadTheGate", "Effect": "Allow", "Action": ["route53-recovery-cluster:ListRoutingControls", *CONFIG_READ_ACTIONS],
                 "Resource": [self.cluster_arn, self.control_panel.arn, f"{self.control_panel.arn}/*"]},
            ]),
        )
