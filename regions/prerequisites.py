"""What a brand-new environment needs before ``npx cdktf deploy '*'``: the objects the stacks only look up.

docs/runbooks/deploy.md lists the same, with how to create each; tests/test_stack_graph.py proves that every
lookup of every stack is one of these or is created by a stack applied before its reader. Beyond objects,
the runbook's prerequisites are a Terraform runner that reaches the private EKS endpoints and the S3 state
backend (``globalpay-<env>-bootstrap``, its own command before ``npx cdktf deploy '*'``: cdktf initializes
every selected stack before it applies any, and an S3 backend cannot initialize without its bucket).
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.config import EnvironmentConfig

#: CloudFront only uses ACM certificates of us-east-1.
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"


@dataclass(frozen=True)
class Prerequisite:
    #: ``route53_zone`` | ``acm_certificate`` | ``iam_role`` | ``guardduty_detector`` (the rehearsal's lookup kinds).
    kind: str
    #: The name the stacks find it by (zone name, certificate domain, role name; "" for a detector).
    key: str
    #: Region it must exist in ("" for global services: Route 53, IAM).
    region: str
    why: str


def prerequisites(config: EnvironmentConfig) -> tuple[Prerequisite, ...]:
    edge, items = config.edge, []
    items.append(Prerequisite("route53_zone", edge.hosted_zone_name, "",
                              "public hosted zone of the API and static hostnames (delegated from the registrar)"))
    for region in config.region_names:
        if region not in edge.certificate_arns:
            items.append(Prerequisite("acm_certificate", edge.api_hostname, region,
                                      "ISSUED certificate of the API hostname for the region's ALB (DNS-validated)"))
    if not edge.cdn_certificate_arn:
        items.append(Prerequisite("acm_certificate", edge.static_hostname, CLOUDFRONT_CERTIFICATE_REGION,
                                  "ISSUED certificate of the static hostname for CloudFront"))
    role = config.cluster.admin_role_name.rsplit("/", 1)[-1]
    items.append(Prerequisite("iam_role", role, "",
                              "the role platform engineers and the pipeline assume; cluster-admin by EKS access entry"))
    if config.security.owned_by_organization("guardduty"):
        for region in config.region_names:
            items.append(Prerequisite("guardduty_detector", "", region,
                                      "the organization's GuardDuty detector in the region (delegated administrator, auto-enable)"))
    return tuple(items)
