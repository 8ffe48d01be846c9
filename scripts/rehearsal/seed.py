"""Create the rehearsal's stand-ins in the emulator. Runs with ``.venv-moto/bin/python`` (it needs boto3).

    .venv-moto/bin/python scripts/rehearsal/seed.py http://127.0.0.1:PORT < plan.json

``plan.json`` is ``{"objects": [{"kind": ..., "region": ..., ...}]}`` as ``lookups.seed_plan`` writes it. Prints
``{"created": [...]}`` with what each stand-in is (ids, ARNs), for the report. Kinds:

* ``route53_zone`` {name}: a public hosted zone (runbook prerequisite);
* ``acm_certificate`` {domain}: an imported self-signed certificate, so its status is ISSUED (prerequisite);
* ``iam_role`` {name}: a role EKS can trust (the cluster admin role, a prerequisite);
* ``guardduty_detector`` {}: an enabled GuardDuty detector in the region (organization mode: the landing zone's);
* ``load_balancer`` {name}: an application load balancer in a small VPC of its own, as the AWS Load Balancer
  Controller creates it from the Ingress (the stack that reads it comes after the one that creates the Ingress).
"""

from __future__ import annotations

import datetime
import json
import sys

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _client(endpoint: str, service: str, region: str):
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal")


def _self_signed(domain: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def route53_zone(endpoint: str, obj: dict) -> dict:
    zone = _client(endpoint, "route53", "us-east-1").create_hosted_zone(
        Name=obj["name"], CallerReference=f"rehearsal-{obj['name']}",
        HostedZoneConfig={"Comment": "rehearsal stand-in", "PrivateZone": False},
    )
    return {"id": zone["HostedZone"]["Id"]}


def acm_certificate(endpoint: str, obj: dict) -> dict:
    cert, key = _self_signed(obj["domain"])
    arn = _client(endpoint, "acm", obj["region"]).import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    return {"arn": arn}


def iam_role(endpoint: str, obj: dict) -> dict:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}
    role = _client(endpoint, "iam", "us-east-1").create_role(RoleName=obj["name"], AssumeRolePolicyDocument=json.dumps(trust))
    return {"arn": role["Role"]["Arn"]}


def load_balancer(endpoint: str, obj: dict) -> dict:
    region = obj["region"]
    ec2 = _client(endpoint, "ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.250.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
               for i, az in enumerate(zones)]
    lb = _client(endpoint, "elbv2", region).create_load_balancer(
        Name=obj["name"], Subnets=subnets, Scheme="internet-facing", Type="application",
    )["LoadBalancers"][0]
    return {"arn": lb["LoadBalancerArn"], "dns_name": lb["DNSName"]}


def guardduty_detector(endpoint: str, obj: dict) -> dict:
    client = _client(endpoint, "guardduty", obj["region"])
    existing = client.list_detectors()["DetectorIds"]
    return {"id": existing[0] if existing else client.create_detector(Enable=True)["DetectorId"]}


KINDS = {"route53_zone": route53_zone, "acm_certificate": acm_certificate, "iam_role": iam_role,
         "load_balancer": load_balancer, "guardduty_detector": guardduty_detector}


def main() -> int:
    endpoint = sys.argv[1]
    plan = json.load(sys.stdin)
    created = []
    for obj in plan.get("objects", []):
        maker = KINDS.get(obj["kind"])
        if maker is None:
            print(f"seed: no stand-in for kind {obj['kind']!r}", file=sys.stderr)
            return 2
        created.append({**obj, **maker(endpoint, obj)})
    json.dump({"created": created}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
