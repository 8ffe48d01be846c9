"""Route 53 failover for the API hostname (guide: "Disaster Recovery Runbook", made configuration).

Each region's public entry point is the ALB that the api-gateway Ingress creates with the fixed name
``globalpay-<env>-api``; the global stack finds it with the ``aws_lb`` data source through that region's
provider. Per region: an HTTPS health check on the ALB's ``/health``; for the primary and the secondary
region: an alias record with failover routing (PRIMARY / SECONDARY) that also evaluates the ALB's own target
health. Construct ids are keyed by region name, never by role: a failover (primary and secondary swapped in
config) changes two attributes in place and creates or destroys nothing.

A CloudWatch alarm on each health check (Route 53 publishes ``HealthCheckStatus`` in us-east-1 only) tells
on-call that a region's API is down before customers do.

With a traffic gate (``gate_check_ids``, ``constructs_lib.recovery``), a record's health is a calculated check:
the load balancer's check AND the region's routing control. An outage still fails over at once; a recovered
region gets traffic back only when an operator turns its control on (docs/runbooks/failover.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.observability import AlarmSpec, metric_alarm
from constructs_lib.providers import aws


@dataclass(frozen=True)
class RegionalEndpoint:
    """A region's ALB as the data source sees it."""

    region: str
    dns_name: str
    zone_id: str


@dataclass(frozen=True)
class ApiFailoverProps:
    """Props of :class:`ApiFailover`."""

    zone_id: str
    hostname: str
    endpoints: Mapping[str, RegionalEndpoint]
    primary_region: str
    secondary_region: str
    #: Path probed on each ALB (default ``/health``: the api-gateway's liveness endpoint).
    health_check_path: str = "/health"
    #: Alarm topic (us-east-1) for health check alarms; empty: no alarms.
    alarm_topic_arn: str = ""
    #: Name prefix of health checks and alarms, e.g. ``globalpay-prod``.
    prefix: str = "globalpay"
    #: Region -> id of the health check that follows its routing control (``TrafficGate.health_check_ids``);
    #: default none: a record follows its load balancer only, and traffic comes back by itself.
    gate_check_ids: Mapping[str, str] = field(default_factory=dict)


class ApiFailover(Construct):
    """Health checks for every region, PRIMARY/SECONDARY alias records for the API hostname."""

    def __init__(self, scope: Construct, id: str, props: ApiFailoverProps) -> None:
        super().__init__(scope, id)
        self.health_checks: dict[str, Any] = {}
        self.records: dict[str, Any] = {}
        for region, endpoint in props.endpoints.items():
            check = aws.route53_health_check.Route53HealthCheck(
                self,
                f"health-check-{region}",
                type="HTTPS",
                fqdn=endpoint.dns_name,
                port=443,
                resource_path=props.health_check_path,
                request_interval=30,
                failure_threshold=3,
                measure_latency=True,
                tags={"Name": f"{props.prefix}-api-{region}"},
            )
            self.health_checks[region] = check
            if props.alarm_topic_arn:
                metric_alarm(
                    self,
                    f"health-alarm-{region}",
                    AlarmSpec(
                        name=f"{props.prefix}-api-health-{region}",
                        description=f"Route 53 sees the API in {region} as unhealthy ({props.health_check_path} on its ALB)",
                        namespace="AWS/Route53",
                        metric="HealthCheckStatus",
                        dimensions={"HealthCheckId": check.id},
                        statistic="Minimum",
                        comparison="LessThanThreshold",
                        threshold=1,
                        period=60,
                        evaluation_periods=2,
                        treat_missing_data="breaching",
                    ),
                    props.alarm_topic_arn,
                )
        self.record_checks: dict[str, Any] = {}
        # Both failover regions, in a fixed order: construct ids never depend on the roles.
        for region in sorted((props.primary_region, props.secondary_region)):
            if region in props.gate_check_ids:
                self.record_checks[region] = aws.route53_health_check.Route53HealthCheck(
                    self,
                    f"gated-health-check-{region}",
                    type="CALCULATED",
                    child_healthchecks=[self.health_checks[region].id, props.gate_check_ids[region]],
                    child_health_threshold=2,  # both: the load balancer answers AND the gate is on
                    tags={"Name": f"{props.prefix}-api-gated-{region}"},
                )
            else:
                self.record_checks[region] = self.health_checks[region]
        for region in (props.primary_region, props.secondary_region):
            endpoint = props.endpoints[region]
            role = "PRIMARY" if region == props.primary_region else "SECONDARY"
            self.records[region] = aws.route53_record.Route53Record(
                self,
                f"api-record-{region}",
                zone_id=props.zone_id,
                name=props.hostname,
                type="A",
                set_identifier=region,
                failover_routing_policy={"type": role},
                health_check_id=self.record_checks[region].id,
                alias={"name": endpoint.dns_name, "zone_id": endpoint.zone_id, "evaluate_target_health": True},
            )
