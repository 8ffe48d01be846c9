"""Every link between the Kubernetes objects of an apps workspace holds (tests/k8s_wiring.py), and moving one
side of any link alone is caught: each planted change below breaks exactly the kind of link it names."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.k8s_wiring import Workspace, problems
from tests.synth import FAILOVER, Synth, synth

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


@pytest.fixture(scope="module")
def failover() -> Synth:
    return synth("prod", FAILOVER)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("env", ["prod", "staging", "failover"])
def test_every_link_between_the_workloads_objects_holds(env: str, region: str, prod: Synth, staging: Synth, failover: Synth) -> None:
    out = {"prod": prod, "staging": staging, "failover": failover}[env]
    stack = out[f"globalpay-{'staging' if env == 'staging' else 'prod'}-{region}-apps"]
    w = Workspace(stack)
    # Not vacuous: the links are there to be followed.
    assert len(w.pods) >= 3 and len(w.resources("kubernetes_service_v1")) >= 3
    assert w.resources("kubernetes_ingress_v1") and w.resources("kubernetes_horizontal_pod_autoscaler_v2")
    assert w.manifests("ExternalSecret") and w.manifests("SecretStore")
    assert problems(stack) == []


def _find(stack: dict, rtype: str, name: str) -> dict:
    for obj in stack["resource"][rtype].values():
        if Workspace.name_of(obj) == name:
            return obj
    raise KeyError(name)


def _container(stack: dict, deployment: str) -> dict:
    return _find(stack, "kubernetes_deployment_v1", deployment)["spec"]["template"]["spec"]["container"][0]


def _manifest(stack: dict, kind: str) -> dict:
    return next(m["manifest"] for m in stack["resource"]["kubernetes_manifest"].values() if m["manifest"]["kind"] == kind)


def _first_service(stack: dict) -> dict:
    return next(iter(stack["resource"]["kubernetes_service_v1"].values()))


def _selected_deployment(stack: dict, service: dict) -> str:
    return Workspace(stack).selected(service["spec"]["selector"])[0].owner.split(" ", 1)[1]


def move_container_port(stack: dict) -> None:
    service = _first_service(stack)
    for port in _container(stack, _selected_deployment(stack, service))["port"]:
        port["container_port"] = int(port["container_port"]) + 1


def move_service_target_port(stack: dict) -> None:
    _first_service(stack)["spec"]["port"][0]["target_port"] = "3999"


def rename_service_selector(stack: dict) -> None:
    _first_service(stack)["spec"]["selector"] = {"app": "api-gatewy"}


def move_probe_port(stack: dict) -> None:
    _container(stack, _selected_deployment(stack, _first_service(stack)))["readiness_probe"]["http_get"]["port"] = "8081"


def relabel_pod_template(stack: dict) -> None:
    deployment = next(iter(stack["resource"]["kubernetes_deployment_v1"].values()))
    deployment["spec"]["template"]["metadata"]["labels"]["app"] = "renamed"


def retarget_autoscaler(stack: dict) -> None:
    hpa = next(iter(stack["resource"]["kubernetes_horizontal_pod_autoscaler_v2"].values()))
    hpa["spec"]["scale_target_ref"]["name"] = "api-gateway-v2"


def drop_cpu_request(stack: dict) -> None:
    hpa = next(iter(stack["resource"]["kubernetes_horizontal_pod_autoscaler_v2"].values()))
    target = Workspace(stack).resolve(hpa["spec"]["scale_target_ref"]["name"])
    _container(stack, target)["resources"]["requests"].pop("cpu")


def move_ingress_port(stack: dict) -> None:
    ingress = next(iter(stack["resource"]["kubernetes_ingress_v1"].values()))
    ingress["spec"]["rule"][0]["http"]["path"][0]["backend"]["service"]["port"]["number"] = 8080


def rename_ingress_backend(stack: dict) -> None:
    ingress = next(iter(stack["resource"]["kubernetes_ingress_v1"].values()))
    ingress["spec"]["rule"][0]["http"]["path"][0]["backend"]["service"]["name"] = "api"


def move_service_to_service_port(stack: dict) -> None:
    rule = next(r for r in _service_to_service_rules(stack))
    rule["ports"][0]["port"] = "8443"


def _service_to_service_rules(stack: dict):
    for policy in stack["resource"]["kubernetes_network_policy_v1"].values():
        for rule in policy["spec"].get("egress") or []:
            if any((peer.get("pod_selector") or {}).get("match_labels") and not peer.get("namespace_selector")
                   for peer in rule.get("to") or []):
                yield rule


def move_ingress_policy_port(stack: dict) -> None:
    for policy in stack["resource"]["kubernetes_network_policy_v1"].values():
        if policy["spec"].get("ingress") and (policy["spec"]["pod_selector"] or {}).get("match_labels"):
            policy["spec"]["ingress"][0]["ports"][0]["port"] = "3001"
            return
    raise AssertionError("no ingress policy on a labelled pod")


def rename_policy_subject(stack: dict) -> None:
    for policy in stack["resource"]["kubernetes_network_policy_v1"].values():
        if (policy["spec"]["pod_selector"] or {}).get("match_labels"):
            policy["spec"]["pod_selector"]["match_labels"] = {"app": "payment-procesor"}
            return


def rename_external_secret_target(stack: dict) -> None:
    _manifest(stack, "ExternalSecret")["spec"]["target"]["name"] = "db-credentials"


def rename_pod_secret_reference(stack: dict) -> None:
    """The pod side of the ExternalSecret link moves: a Deployment reads its secrets under another name."""
    for deployment in stack["resource"]["kubernetes_deployment_v1"].values():
        for source in deployment["spec"]["template"]["spec"]["container"][0].get("env_from") or []:
            if source.get("secret_ref"):
                source["secret_ref"]["name"] += "-v2"
                return
    raise AssertionError("no pod reads a Secret")


def rename_secret_store(stack: dict) -> None:
    _manifest(stack, "ExternalSecret")["spec"]["secretStoreRef"]["name"] = "aws-secrets-manager"


def rename_store_service_account(stack: dict) -> None:
    _manifest(stack, "SecretStore")["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"] = "external-secrets"


def rename_pdb_selector(stack: dict) -> None:
    pdb = next(iter(stack["resource"]["kubernetes_pod_disruption_budget_v1"].values()))
    pdb["spec"]["selector"]["match_labels"] = {"app": "gone"}


PLANTED: dict[str, tuple[Callable[[dict], Any], str]] = {
    "container port moves, Service target port stays": (move_container_port, "does not serve"),
    "Service target port moves": (move_service_target_port, "targets 3999"),
    "Service selector misspelt": (rename_service_selector, "selects no pod"),
    "probe port moves": (move_probe_port, "readiness_probe port 8081"),
    "pod template relabelled": (relabel_pod_template, "does not match its pod template labels"),
    "HPA targets another name": (retarget_autoscaler, "not a Deployment of the workspace"),
    "HPA on CPU without a CPU request": (drop_cpu_request, "needs a cpu request"),
    "Ingress backend port moves": (move_ingress_port, "backend port 8080"),
    "Ingress backend Service renamed": (rename_ingress_backend, "backend Service 'api'"),
    "service-to-service NetworkPolicy port moves": (move_service_to_service_port, "on port 8443"),
    "ingress NetworkPolicy port moves": (move_ingress_policy_port, "admits port 3001"),
    "NetworkPolicy subject misspelt": (rename_policy_subject, "selects no pod"),
    "ExternalSecret target renamed": (rename_external_secret_target, "which nothing in the workspace creates"),
    "pod reads its secrets under another name": (rename_pod_secret_reference, "-v2', which nothing in the workspace creates"),
    "ExternalSecret names another SecretStore": (rename_secret_store, "SecretStore 'aws-secrets-manager'"),
    "SecretStore authenticates as another account": (rename_store_service_account, "service account 'external-secrets'"),
    "PodDisruptionBudget selects nothing": (rename_pdb_selector, "PodDisruptionBudget"),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_moving_one_side_of_a_link_is_caught(case: str, prod: Synth) -> None:
    plant, expected = PLANTED[case]
    stack = copy.deepcopy(prod["globalpay-prod-us-east-1-apps"])
    plant(stack)
    found = problems(stack)
    assert any(expected in line for line in found), found
