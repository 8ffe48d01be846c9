"""Cross-object wiring of a synthesized Kubernetes workspace, read as the API server and its controllers would
resolve it: which pods a selector picks, which container port a Service, probe, Ingress or NetworkPolicy port
lands on, which Secret, ConfigMap, ServiceAccount or SecretStore a name points at.

Nothing here knows GlobalPay's names: every link is followed from one object to the other in the JSON, so a
change to either side (a container port, a Service target port, a label, an ExternalSecret's target) that
breaks the link is reported, whatever it was renamed to. ``problems(stack)`` returns one line per broken link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

REFERENCE = re.compile(r"^\$\{([a-z0-9_]+)\.([^.}]+)\.metadata\[0\]\.name\}$")


def _list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _one(value: Any) -> Mapping[str, Any]:
    items = _list(value)
    return items[0] if items else {}


@dataclass
class Pod:
    """A Deployment's pod template: what selectors, ports and references are checked against."""

    owner: str
    labels: Mapping[str, str]
    containers: list[Mapping[str, Any]]
    spec: Mapping[str, Any]

    def port_numbers(self) -> set[int]:
        return {int(p["container_port"]) for c in self.containers for p in _list(c.get("port"))}

    def port_names(self) -> dict[str, int]:
        return {p["name"]: int(p["container_port"]) for c in self.containers for p in _list(c.get("port")) if p.get("name")}

    def serves(self, port: Any) -> bool:
        """A port given as number, numeric string or name lands on a declared container port."""
        if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
            return int(port) in self.port_numbers()
        return port in self.port_names()


@dataclass
class Workspace:
    stack: Mapping[str, Any]
    pods: list[Pod] = field(default_factory=list)

    def __post_init__(self) -> None:
        for d in self.resources("kubernetes_deployment_v1").values():
            template = _one(_one(d.get("spec")).get("template"))
            spec = _one(template.get("spec"))
            self.pods.append(Pod(f"Deployment {self.name_of(d)}", _one(template.get("metadata")).get("labels") or {},
                                 _list(spec.get("container")), spec))

    def resources(self, rtype: str) -> dict[str, Mapping[str, Any]]:
        return (self.stack.get("resource") or {}).get(rtype) or {}

    @staticmethod
    def name_of(obj: Mapping[str, Any]) -> str:
        if "manifest" in obj:
            return obj["manifest"]["metadata"]["name"]
        return _one(obj.get("metadata")).get("name", "")

    def resolve(self, name: Any) -> str:
        """A literal name, or the name of the object a ``${type.id.metadata[0].name}`` reference points at."""
        match = REFERENCE.match(name) if isinstance(name, str) else None
        if match:
            target = self.resources(match.group(1)).get(match.group(2))
            return self.name_of(target) if target else f"<dangling {name}>"
        return name

    def names(self, rtype: str) -> set[str]:
        return {self.name_of(o) for o in self.resources(rtype).values()}

    def manifests(self, kind: str) -> list[Mapping[str, Any]]:
        return [m["manifest"] for m in self.resources("kubernetes_manifest").values() if m["manifest"].get("kind") == kind]

    def selected(self, labels: Mapping[str, str] | None) -> list[Pod]:
        """Pods a matchLabels selector picks (an empty selector picks every pod of the namespace)."""
        return [p for p in self.pods if all(p.labels.get(k) == v for k, v in (labels or {}).items())]

    def secret_keys(self) -> dict[str, set[str]]:
        """Secrets the namespace will hold, with their keys: ExternalSecret targets (and plain Secrets)."""
        out: dict[str, set[str]] = {}
        for es in self.manifests("ExternalSecret"):
            target = (es["spec"].get("target") or {}).get("name") or es["metadata"]["name"]
            keys = {d["secretKey"] for d in es["spec"].get("data") or []}
            if es["spec"].get("dataFrom"):
                keys.add("*")  # every property of the remote secret
            out.setdefault(target, set()).update(keys)
        for secret in self.resources("kubernetes_secret_v1").values():
            out.setdefault(self.name_of(secret), set()).update((secret.get("data") or {}).keys())
        return out


def problems(stack: Mapping[str, Any]) -> list[str]:
    w = Workspace(stack)
    return sorted(set(_pods(w)) | set(_services(w)) | set(_ingresses(w)) | set(_autoscalers(w))
                  | set(_network_policies(w)) | set(_secrets(w)) | set(_disruption_budgets(w)))


def _pods(w: Workspace) -> Iterator[str]:
    config_maps, accounts, secrets = w.names("kubernetes_config_map_v1"), w.names("kubernetes_service_account_v1"), w.secret_keys()
    for d in w.resources("kubernetes_deployment_v1").values():
        pod = next(p for p in w.pods if p.owner == f"Deployment {w.name_of(d)}")
        selector = _one(_one(d.get("spec")).get("selector")).get("match_labels") or {}
        if not selector or any(pod.labels.get(k) != v for k, v in selector.items()):
            yield f"{pod.owner}: selector {selector} does not match its pod template labels {dict(pod.labels)}"
        account = pod.spec.get("service_account_name")
        if account is not None and w.resolve(account) not in accounts:
            yield f"{pod.owner}: service account {w.resolve(account)!r} is not in the workspace"
        for c in pod.containers:
            for kind in ("liveness_probe", "readiness_probe", "startup_probe"):
                probe = _one(c.get(kind))
                for handler in ("http_get", "tcp_socket", "grpc"):
                    port = _one(probe.get(handler)).get("port")
                    if port is not None and not pod.serves(port):
                        yield f"{pod.owner}: {kind} port {port} is not a container port {sorted(pod.port_numbers())}"
            for env in _list(c.get("env")):
                ref = _one(_one(env.get("value_from")).get("secret_key_ref"))
                if ref and not ref.get("optional"):
                    name = w.resolve(ref.get("name"))
                    if name not in secrets:
                        yield f"{pod.owner}: env {env['name']} reads Secret {name!r}, which nothing in the workspace creates"
                    elif ref.get("key") not in secrets[name] and "*" not in secrets[name]:
                        yield f"{pod.owner}: env {env['name']} reads key {ref.get('key')!r} of Secret {name!r}, which has {sorted(secrets[name])}"
                ref = _one(_one(env.get("value_from")).get("config_map_key_ref"))
                if ref and w.resolve(ref.get("name")) not in config_maps:
                    yield f"{pod.owner}: env {env['name']} reads ConfigMap {w.resolve(ref.get('name'))!r}, which is not in the workspace"
            for source in _list(c.get("env_from")):
                if source.get("config_map_ref") and w.resolve(_one(source["config_map_ref"]).get("name")) not in config_maps:
                    yield f"{pod.owner}: env_from ConfigMap {w.resolve(_one(source['config_map_ref']).get('name'))!r} is not in the workspace"
                if source.get("secret_ref") and w.resolve(_one(source["secret_ref"]).get("name")) not in secrets:
                    yield f"{pod.owner}: env_from Secret {w.resolve(_one(source['secret_ref']).get('name'))!r}, which nothing in the workspace creates"
        for volume in _list(pod.spec.get("volume")):
            secret = _one(volume.get("secret"))
            if secret and w.resolve(secret.get("secret_name")) not in secrets:
                yield f"{pod.owner}: volume {volume.get('name')} mounts Secret {w.resolve(secret.get('secret_name'))!r}, which nothing creates"


def _service_ports(w: Workspace) -> dict[str, tuple[Mapping[str, Any], list[Mapping[str, Any]]]]:
    return {w.name_of(s): (_one(s.get("spec")).get("selector") or {}, _list(_one(s.get("spec")).get("port")))
            for s in w.resources("kubernetes_service_v1").values()}


def _services(w: Workspace) -> Iterator[str]:
    for name, (selector, ports) in _service_ports(w).items():
        pods = w.selected(selector) if selector else []
        if not pods:
            yield f"Service {name}: selector {dict(selector)} selects no pod"
        for port in ports:
            target = port.get("target_port", port.get("port"))
            for pod in pods:
                if not pod.serves(target):
                    yield f"Service {name}: port {port.get('port')} targets {target}, which {pod.owner} does not serve {sorted(pod.port_numbers())}"


def _ingresses(w: Workspace) -> Iterator[str]:
    services = _service_ports(w)
    for ing in w.resources("kubernetes_ingress_v1").values():
        name = w.name_of(ing)
        spec = _one(ing.get("spec"))
        backends = [_one(spec.get("default_backend"))] if spec.get("default_backend") else []
        for rule in _list(spec.get("rule")):
            backends += [_one(p.get("backend")) for p in _list(_one(rule.get("http")).get("path"))]
        for backend in backends:
            service = _one(backend.get("service"))
            target = w.resolve(service.get("name"))
            if target not in services:
                yield f"Ingress {name}: backend Service {target!r} is not in the workspace"
                continue
            port = _one(service.get("port"))
            declared = services[target][1]
            if "number" in port and int(port["number"]) not in {int(p["port"]) for p in declared}:
                yield f"Ingress {name}: backend port {port['number']} is not a port of Service {target}"
            if "name" in port and port["name"] not in {p.get("name") for p in declared}:
                yield f"Ingress {name}: backend port {port['name']!r} is not a port name of Service {target}"


def _autoscalers(w: Workspace) -> Iterator[str]:
    deployments = {w.name_of(d): d for d in w.resources("kubernetes_deployment_v1").values()}
    for hpa in w.resources("kubernetes_horizontal_pod_autoscaler_v2").values():
        spec, name = _one(hpa.get("spec")), w.name_of(hpa)
        ref = _one(spec.get("scale_target_ref"))
        target = w.resolve(ref.get("name"))
        if ref.get("kind") != "Deployment" or target not in deployments:
            yield f"HorizontalPodAutoscaler {name}: scales {ref.get('kind')} {target!r}, which is not a Deployment of the workspace"
            continue
        pod = next(p for p in w.pods if p.owner == f"Deployment {target}")
        for metric in _list(spec.get("metric")):
            resource = _one(metric.get("resource")).get("name")
            if metric.get("type") == "Resource" and _one(_one(metric.get("resource")).get("target")).get("type") == "Utilization":
                for c in pod.containers:
                    if resource not in (_one(c.get("resources")).get("requests") or {}):
                        yield f"HorizontalPodAutoscaler {name}: {resource} utilization needs a {resource} request on {pod.owner} container {c['name']}"
        if int(spec.get("min_replicas", 1)) > int(spec.get("max_replicas", 0)):
            yield f"HorizontalPodAutoscaler {name}: min_replicas above max_replicas"


def _network_policies(w: Workspace) -> Iterator[str]:
    for policy in w.resources("kubernetes_network_policy_v1").values():
        spec, name = _one(policy.get("spec")), w.name_of(policy)
        subject = _one(spec.get("pod_selector")).get("match_labels")
        pods = w.selected(subject)
        if subject and not pods:
            yield f"NetworkPolicy {name}: pod_selector {dict(subject)} selects no pod"
        for rule in _list(spec.get("ingress")):
            for peer in _list(rule.get("from")):
                labels = _one(peer.get("pod_selector")).get("match_labels")
                if labels and not peer.get("namespace_selector") and not w.selected(labels):
                    yield f"NetworkPolicy {name}: ingress from pods {dict(labels)}, which select no pod"
            for port in _list(rule.get("ports")):
                for pod in pods if subject else []:
                    if "port" in port and not pod.serves(port["port"]):
                        yield f"NetworkPolicy {name}: admits port {port['port']}, which {pod.owner} does not serve {sorted(pod.port_numbers())}"
        for rule in _list(spec.get("egress")):
            for peer in _list(rule.get("to")):
                labels = _one(peer.get("pod_selector")).get("match_labels")
                if not labels or peer.get("namespace_selector"):
                    continue  # pods of another namespace, or addresses: not ours to resolve
                destinations = w.selected(labels)
                if not destinations:
                    yield f"NetworkPolicy {name}: egress to pods {dict(labels)}, which select no pod"
                for port in _list(rule.get("ports")):
                    for pod in destinations:
                        if "port" in port and not pod.serves(port["port"]):
                            yield f"NetworkPolicy {name}: egress to {pod.owner} on port {port['port']}, which it does not serve {sorted(pod.port_numbers())}"


def _secrets(w: Workspace) -> Iterator[str]:
    stores = {m["metadata"]["name"]: m for m in w.manifests("SecretStore")}
    accounts = w.names("kubernetes_service_account_v1")
    for es in w.manifests("ExternalSecret"):
        ref = es["spec"].get("secretStoreRef") or {}
        if ref.get("kind", "SecretStore") == "SecretStore" and ref.get("name") not in stores:
            yield f"ExternalSecret {es['metadata']['name']}: SecretStore {ref.get('name')!r} is not in the workspace"
    for name, store in stores.items():
        auth = ((store["spec"].get("provider") or {}).get("aws") or {}).get("auth") or {}
        account = ((auth.get("jwt") or {}).get("serviceAccountRef") or {}).get("name")
        if account is not None and w.resolve(account) not in accounts:
            yield f"SecretStore {name}: authenticates as service account {account!r}, which is not in the workspace"


def _disruption_budgets(w: Workspace) -> Iterator[str]:
    for pdb in w.resources("kubernetes_pod_disruption_budget_v1").values():
        labels = _one(_one(pdb.get("spec")).get("selector")).get("match_labels")
        if not w.selected(labels) or not labels:
            yield f"PodDisruptionBudget {w.name_of(pdb)}: selector {labels} selects no pod"
