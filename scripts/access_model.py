#!/usr/bin/env python
"""Write docs/compliance/access-model.md: who may do what, read from the synthesized JSON (the policies Terraform applies).

    python3 tasks.py access-model                    # read cdktf.out (run `python3 tasks.py synth` first)
    python3 tasks.py access-model --synth-dir DIR    # another synthesis
    python3 tasks.py access-model --check            # exit 1 if the page differs (the test does this)

A reviewer and an assessor read this page instead of JSON (PCI DSS 7.2.1, 7.2.2, 7.2.5; SOC 2 CC6.3):

- the services: per service, its Kubernetes service account, its IAM role's statements (action -> resource), its
  database login and PostgreSQL grants, its Redis user and access string (from the origin region's core and -apps
  stacks; the other regions differ only in region names);
- every IAM role of every stack, grouped by what assumes it (a workload, a Kubernetes service account of an
  add-on, an AWS service, people): who may assume it (the trust policy's principals and conditions) and what it
  may do on which resources (inline policies, customer-managed and AWS-managed policies attached, in any stack).
  A role that exists in several regions with the same trust and permissions (region names aside) is one row;
- every Kubernetes service account that carries an IAM role (the workloads' and the Helm releases');
- the grants to call out: a statement that allows a wildcard action or resource, an AWS-managed policy (whose
  document AWS writes), and a trust that admits another account, any principal or the account root.

Built from nothing but the JSON, so a policy cannot say more than the page shows. Terraform references are
written out: ``${aws_msk_cluster.x.arn}`` as the cluster's name, a key ARN read from another stack as that key's
purpose, the partition as ``aws``, the account as ``<account>``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.synthesis import Item, Synthesis  # noqa: E402  (after the sys.path entry above)

OUTPUT = ROOT / "docs" / "compliance" / "access-model.md"
ENV, REGION = "prod", "us-east-1"
WORKLOAD_TAG = "Workload"
#: Attributes that name a resource, in the order they are tried.
NAMING_ATTRIBUTES = ("bucket", "cluster_name", "replication_group_id", "function_name", "identifier", "name")
TOKEN = re.compile(r"\$\{([^}]+)\}")


def _resource_name(stack: dict[str, Any], rtype: str, rid: str) -> str:
    cfg = stack.get("resource", {}).get(rtype, {}).get(rid, {})
    for attr in NAMING_ATTRIBUTES:
        if isinstance(cfg.get(attr), str) and "${" not in cfg[attr]:
            return cfg[attr]
    return rid


def readable(text: str, stack: dict[str, Any]) -> str:
    """A string of the JSON with its Terraform references written out for a reader."""
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("data.aws_partition."):
            return "aws"
        if expr.startswith("data.aws_caller_identity."):
            return "<account>"
        if expr.startswith("local.") and "oidc" in expr:
            return "<cluster OIDC issuer>"
        remote = re.fullmatch(r"data\.terraform_remote_state\.cross-stack-reference-input-([^.]+)\.outputs\.(.+)", expr)
        if remote:
            producer, output = remote.groups()
            kind = re.search(r"encryption_(data|secrets)_key", output)
            if kind:
                return f"<{kind.group(1)} key of {producer}>"
            if "resource_id" in output:
                return f"<writer's resource id in {producer}>"
            return f"<{output.removeprefix('cross-stack-output-')} of {producer}>"
        parts = expr.split(".")
        if parts[0] == "aws_iam_openid_connect_provider":
            return "<cluster OIDC provider>"
        if len(parts) == 3 and parts[0].startswith("aws_"):
            rtype, rid, attr = parts
            name = _resource_name(stack, rtype, rid)
            if attr in ("bucket", "name", "id", "function_name"):
                return name
            return f"<{attr} of {rtype.removeprefix('aws_')} {name}>"
        return "${" + expr + "}"
    return TOKEN.sub(one, text)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_services(stack: dict[str, Any]) -> dict[str, str]:
    """``{role logical id: service}`` of the workload roles of a stack."""
    return {rid: cfg["tags"][WORKLOAD_TAG] for rid, cfg in stack.get("resource", {}).get("aws_iam_role", {}).items()
            if isinstance(cfg.get("tags"), dict) and WORKLOAD_TAG in cfg["tags"]}


def statements_by_service(core: dict[str, Any], apps: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """``{service: [(statement id, actions, resources)]}`` of the role's inline policy and its attached policies."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    roles = _role_services(core)
    sources: list[tuple[str, dict[str, Any], str]] = []
    for policy in core.get("resource", {}).get("aws_iam_role_policy", {}).values():
        match = re.fullmatch(r"\$\{aws_iam_role\.([^.]+)\.(id|name)\}", str(policy.get("role")))
        if match and match.group(1) in roles:
            sources.append((roles[match.group(1)], core, policy["policy"]))
    for policy in apps.get("resource", {}).get("aws_iam_policy", {}).values():
        if WORKLOAD_TAG in (policy.get("tags") or {}):
            sources.append((policy["tags"][WORKLOAD_TAG], apps, policy["policy"]))
    for service, stack, document in sources:
        for st in json.loads(document)["Statement"]:
            condition = ""
            if st.get("Condition"):
                condition = " if " + "; ".join(f"{key} {values}" for op in st["Condition"].values()
                                                for key, values in sorted(op.items()))
            out.setdefault(service, []).append((
                st.get("Sid", ""),
                ", ".join(_list(st["Action"])),
                readable(", ".join(_list(st["Resource"])), stack) + readable(condition, stack),
            ))
    return out


# --------------------------------------------------------------------------------------------------
# Every IAM role: who may assume it, what it may do
# --------------------------------------------------------------------------------------------------

#: An AWS-managed policy's ARN (its document is AWS's, not in the JSON).
MANAGED_POLICY = re.compile(r"^arn:[^:]*:iam::aws:policy/(.+)$")
#: The service account an IRSA trust names.
SERVICE_ACCOUNT_SUBJECT = re.compile(r"^system:serviceaccount:([^:]+):([^:]+)$")


def _document(text: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _list(document.get("Statement", [])) if isinstance(s, dict)]


def _condition(statement: dict[str, Any]) -> str:
    parts = [f"{key} {operator} {values}" for operator, block in sorted((statement.get("Condition") or {}).items())
             for key, values in sorted(block.items())]
    return "; ".join(parts)


def _regionless(text: str, regions: list[str]) -> str:
    for region in regions:
        text = text.replace(region, "<region>")
    return text


@dataclass(frozen=True)
class Grant:
    """One statement a role holds: where it comes from, its effect, actions, resources and condition."""

    source: str  # "inline <name>", "policy <name>" or "AWS-managed <name>"
    effect: str
    actions: str
    resources: str
    condition: str

    @property
    def wildcard(self) -> bool:
        if self.effect != "Allow":
            return False
        actions = [a.strip() for a in self.actions.split(",")]
        return (self.resources.strip() == "*" or "*" in [r.strip() for r in self.resources.split(",")]
                or any(a == "*" or a.endswith(":*") for a in actions) or self.actions.startswith("NOT "))


@dataclass(frozen=True)
class Role:
    """An IAM role as a reader sees it, with region names replaced so that the regions' copies compare equal."""

    name: str
    group: str
    trusted: tuple[str, ...]
    grants: tuple[Grant, ...]
    managed: tuple[str, ...]
    cross_account: tuple[str, ...]


def _trust(item: Item, regions: list[str]) -> tuple[str, list[str], list[str]]:
    """(group, who may assume it, trusts to call out) of a role's trust policy."""
    stack = {"resource": {}}  # references in trust policies name the OIDC provider or the account only
    who, flagged, group = [], [], ""
    for statement in _statements(_document(item.config.get("assume_role_policy"))):
        principal = statement.get("Principal")
        condition = _regionless(readable(_condition(statement), stack), regions)
        principals = principal if isinstance(principal, dict) else {"*": [principal]}
        for kind, values in sorted(principals.items()):
            for value in _list(values):
                text = _regionless(readable(str(value), stack), regions)
                if kind == "Service":
                    who.append(f"AWS service `{text}`")
                    group = group or f"AWS service {text}"
                elif kind == "Federated":
                    subjects = [v for block in (statement.get("Condition") or {}).values()
                                for k, v in block.items() if k.endswith(":sub")]
                    accounts = [m.groups() for s in subjects for v in _list(s)
                                if (m := SERVICE_ACCOUNT_SUBJECT.match(str(v)))]
                    names = ", ".join(f"`{ns}/{sa}`" for ns, sa in accounts) or "any subject"
                    who.append(f"Kubernetes service account {names} (web identity of {text})")
                    group = group or ("Kubernetes service accounts" if accounts else f"web identity {text}")
                    if not accounts:
                        flagged.append(f"web identity of {text} without a subject condition")
                else:
                    who.append(f"`{text}`" + (f" if {condition}" if condition else ""))
                    group = group or "people and accounts"
                    own = re.fullmatch(r"arn:aws:iam::<account>:(role|user)/.+", text)
                    if text == "*" or not own:
                        flagged.append(f"trusts `{text}`" + (f" if {condition}" if condition else " without a condition"))
        if condition and not any(k.endswith(":sub") for block in (statement.get("Condition") or {}).values() for k in block):
            who[-1:] = [who[-1] + f" if {condition}"] if who and " if " not in who[-1] else who[-1:]
    return group or "unassumable", who, flagged


def iam_roles(synthesis: Synthesis) -> list[tuple[Role, list[Item]]]:
    """Every IAM role, with the grants of its inline policies and attached policies (in any stack); the copies of
    one role in several regions (equal once region names are replaced) as one entry with their items."""
    regions = sorted({*synthesis.regions(), *(i.region for i in synthesis.of_type("aws_iam_role"))} - {"?"})
    grants: dict[tuple[str, str], list[Grant]] = {}
    managed: dict[tuple[str, str], list[str]] = {}

    def add(role: Item | None, source: str, stack: str, document: Any) -> None:
        if role is None or role.rtype != "aws_iam_role":
            return
        for st in _statements(_document(document)):
            actions = ", ".join(_list(st.get("Action"))) or "NOT " + ", ".join(_list(st.get("NotAction")))
            resources = ", ".join(str(r) for r in _list(st.get("Resource"))) or "NOT " + ", ".join(
                str(r) for r in _list(st.get("NotResource")))
            grants.setdefault((role.stack, role.name), []).append(Grant(
                source, st.get("Effect", "Allow"), actions,
                _regionless(readable(resources, synthesis.stacks[stack]), regions),
                _regionless(readable(_condition(st), synthesis.stacks[stack]), regions)))

    for item in synthesis.of_type("aws_iam_role_policy"):
        add(synthesis.resolve(item.stack, item.config.get("role")), f"inline {_regionless(str(item.config.get('name', '')), regions)}",
            item.stack, item.config.get("policy"))
    for item in synthesis.of_type("aws_iam_role_policy_attachment"):
        role = synthesis.resolve(item.stack, item.config.get("role"))
        arn = readable(str(item.config.get("policy_arn")), synthesis.stacks[item.stack])
        if role is None:
            continue
        match = MANAGED_POLICY.match(arn)
        if match:
            managed.setdefault((role.stack, role.name), []).append(match.group(1))
            continue
        policy = synthesis.resolve(item.stack, item.config.get("policy_arn"))
        if policy is not None and policy.rtype == "aws_iam_policy":
            add(role, f"policy {_regionless(str(policy.config.get('name', '')), regions)}", policy.stack,
                policy.config.get("policy"))

    by_key: dict[Role, list[Item]] = {}
    for item in synthesis.of_type("aws_iam_role"):
        workload = (item.config.get("tags") or {}).get(WORKLOAD_TAG) if isinstance(item.config.get("tags"), dict) else None
        group, who, flagged = _trust(item, regions)
        own = sorted(grants.get((item.stack, item.name), []), key=lambda g: (g.source, g.actions, g.resources))
        role = Role(_regionless(str(item.config.get("name")), regions), f"workload {workload}" if workload else group,
                    tuple(who), tuple(own), tuple(sorted(managed.get((item.stack, item.name), []))), tuple(flagged))
        by_key.setdefault(role, []).append(item)
    return sorted(by_key.items(), key=lambda kv: (not kv[0].group.startswith("workload"), kv[0].group, kv[0].name))


def service_accounts(synthesis: Synthesis) -> list[tuple[str, str, list[str]]]:
    """``(namespace/name, role, [regions])`` of every Kubernetes service account that carries an IAM role: the
    workloads' objects, and the ones the Helm releases create from their values."""
    found: dict[tuple[str, str], list[str]] = {}
    regions = sorted({*synthesis.regions()})

    def role_name(stack: str, expression: str) -> str:
        role = synthesis.resolve(stack, expression)
        return _regionless(str(role.config.get("name")), regions) if role is not None else readable(expression, {})

    for item in synthesis.of_type("kubernetes_service_account_v1"):
        metadata = item.config.get("metadata") or {}
        annotation = (metadata.get("annotations") or {}).get("eks.amazonaws.com/role-arn")
        if annotation:
            namespace = readable(str(metadata.get("namespace")), synthesis.stacks[item.stack])
            namespace = namespace.removeprefix("<metadata[0] of kubernetes_namespace_v1 ").rstrip(">")
            for ns in synthesis.in_stack(item.stack, "kubernetes_namespace_v1"):
                namespace = (ns.config.get("metadata") or {}).get("name", namespace)
            key = (f"{namespace}/{metadata.get('name')}", role_name(item.stack, annotation))
            found.setdefault(key, []).append(_region_of_stack(item.stack))
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            account = value.get("serviceAccount")
            if isinstance(account, dict) and (account.get("annotations") or {}).get("eks.amazonaws.com/role-arn"):
                yield account
            for child in value.values():
                yield from walk(child)
        elif isinstance(value, list):
            for child in value:
                yield from walk(child)

    for item in synthesis.of_type("helm_release"):
        for account in walk([_document(v) for v in _list(item.config.get("values"))]):
            name = f"{item.config.get('namespace', 'default')}/{account.get('name', item.config.get('name'))}"
            key = (name, role_name(item.stack, account["annotations"]["eks.amazonaws.com/role-arn"]))
            found.setdefault(key, []).append(_region_of_stack(item.stack))
    for item in synthesis.of_type("aws_eks_addon"):  # a managed add-on's service account: the one its role trusts
        role = synthesis.resolve(item.stack, item.config.get("service_account_role_arn"))
        if role is None:
            continue
        for statement in _statements(_document(role.config.get("assume_role_policy"))):
            for block in (statement.get("Condition") or {}).values():
                for key, subject in block.items():
                    for value in _list(subject) if key.endswith(":sub") else []:
                        if (m := SERVICE_ACCOUNT_SUBJECT.match(str(value))):
                            pair = (f"{m.group(1)}/{m.group(2)}", _regionless(str(role.config.get("name")), regions))
                            found.setdefault(pair, []).append(_region_of_stack(item.stack))
    return sorted((account, role, sorted(set(regions))) for (account, role), regions in found.items())


def _region_of_stack(stack: str) -> str:
    match = re.match(r"^globalpay-[a-z0-9]+-([a-z]{2}-[a-z]+-\d)", stack)
    return match.group(1) if match else "global"


def _where(items: list[Item]) -> str:
    stacks = sorted({i.stack for i in items})
    return ", ".join(f"`{s}`" for s in stacks)


def render_roles(synthesis: Synthesis) -> list[str]:
    roles = iam_roles(synthesis)
    count = sum(len(items) for _, items in roles)
    out = ["## Every IAM role", "",
           f"{count} roles in {len({i.stack for _, items in roles for i in items})} stacks ({len(roles)} distinct once "
           "region names are replaced by `<region>`), grouped by what assumes them. A role's permissions are its inline "
           "policies, the customer-managed policies attached to it (in any stack) and the AWS-managed policies "
           "attached to it (named; AWS writes their documents).", ""]
    group = None
    for role, items in roles:
        if role.group != group:
            group = role.group
            out += [f"### {group}", ""]
        out += [f"#### `{role.name}`", "", f"In {_where(items)}. Assumed by: {'; '.join(role.trusted) or 'nobody'}.", ""]
        if role.grants:
            out += ["| from | effect | actions | resources | condition |", "| --- | --- | --- | --- | --- |"]
            for g in role.grants:
                out.append(f"| {g.source} | {g.effect} | {_cell(g.actions)} | {_cell(g.resources)} | {_cell(g.condition)} |")
            out.append("")
        if role.managed:
            out += ["AWS-managed policies: " + ", ".join(f"`{m}`" for m in role.managed) + ".", ""]
        if not role.grants and not role.managed:
            out += ["No permission of its own.", ""]
    for item in synthesis.of_type("aws_iam_service_linked_role"):
        out += [f"Service-linked role of `{item.config.get('aws_service_name')}` in `{item.stack}`: assumed by that "
                "service only, its permissions are AWS's.", ""]
    accounts = service_accounts(synthesis)
    out += ["## Kubernetes service accounts with an IAM role", "",
            "The workloads' service accounts, the ones the Helm releases create from their values and the managed "
            "add-ons'. Every other service account (those the charts create for themselves, `default`) carries no IAM "
            "role: the nodes' instance metadata is closed to pods off the host network (IMDSv2, one hop), so such a pod has no AWS "
            "permission.", "",
            "| service account | IAM role | regions |", "| --- | --- | --- |"]
    out += [f"| `{account}` | `{role}` | {', '.join(regions)} |" for account, role, regions in accounts]
    out += ["", "## Wildcard and cross-account grants", "",
            "Every statement that allows a wildcard action or resource, every AWS-managed policy attached, and every "
            "trust that admits a principal outside this account's named roles. Each is a reviewed decision (the "
            "workloads have none: policy rule GP008).", "",
            "| role | regions | what | why it is called out |", "| --- | --- | --- | --- |"]
    for role, items in roles:
        where = ", ".join(sorted({_region_of_stack(i.stack) for i in items}))
        for g in role.grants:
            if g.wildcard:
                detail = f"{g.effect} {g.actions} on {g.resources}" + (f" if {g.condition}" if g.condition else "")
                out.append(f"| `{role.name}` | {where} | {_cell(detail)} | wildcard ({g.source}) |")
        for m in role.managed:
            out.append(f"| `{role.name}` | {where} | `{m}` | AWS-managed policy |")
        for flag in role.cross_account:
            out.append(f"| `{role.name}` | {where} | {_cell(flag)} | trust outside the account's named roles |")
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(synthesis: Synthesis) -> str:
    stacks = synthesis.stacks
    core, apps = stacks[f"globalpay-{ENV}-{REGION}"], stacks[f"globalpay-{ENV}-{REGION}-apps"]
    statements = statements_by_service(core, apps)
    roles = {cfg["tags"][WORKLOAD_TAG]: cfg for cfg in core["resource"]["aws_iam_role"].values()
             if WORKLOAD_TAG in (cfg.get("tags") or {})}
    accounts = {a["metadata"]["name"]: a["metadata"] for a in apps["resource"]["kubernetes_service_account_v1"].values()}
    [namespace] = [n["metadata"]["name"] for n in apps["resource"]["kubernetes_namespace_v1"].values()]
    redis = {cfg["user_name"]: cfg["access_string"] for cfg in core["resource"]["aws_elasticache_user"].values()}
    [invocation] = core["resource"]["aws_lambda_invocation"].values()
    plan = json.loads(invocation["input"])["plan"]
    out = [
        "# Access model: what each service may do",
        "",
        "<!-- Generated by scripts/access_model.py from the synthesized prod JSON. Do not edit: run",
        "     `python3 tasks.py access-model` after `python3 tasks.py synth`. -->",
        "",
        f"Read from the synthesized `globalpay-{ENV}-{REGION}` and `globalpay-{ENV}-{REGION}-apps` stacks (every region",
        "has the same, with its own region, cluster and stores). Configuration: `workloads.services[].access`",
        "([configuration.md](../configuration.md#workloadsservicesaccess-serviceaccess)); why each piece is built as it",
        "is: [data-tier.md](../data-tier.md#least-privilege-one-identity-per-service). The synth refuses a workload",
        "statement with a `*` action or resource (policy rule GP008) and the validator a configuration that would",
        "give a service the master login or a wildcard.",
        "",
        "## Identities",
        "",
        "| service | Kubernetes service account | IAM role | PostgreSQL role | Redis user |",
        "| --- | --- | --- | --- | --- |",
    ]
    pg_roles = {role.replace("_", "-"): role for role in plan["roles"]}
    for service in sorted(roles):
        trust = json.loads(roles[service]["assume_role_policy"])["Statement"][0]["Condition"]["StringEquals"]
        subject = next(v for k, v in trust.items() if k.endswith(":sub"))
        account = accounts.get(service, {})
        out.append(f"| {service} | `{namespace}/{account.get('name', '?')}` (trusted: `{subject}`) | "
                   f"`{roles[service]['name']}` | {('`' + pg_roles[service] + '`') if service in pg_roles else 'none'} | "
                   f"`globalpay-{ENV}-{service}` |")
    out += ["", "## IAM: action -> resource", ""]
    for service in sorted(statements):
        out += [f"### {service}", "", "| statement | actions | resources |", "| --- | --- | --- |"]
        for sid, actions, resources in sorted(statements[service]):
            out.append(f"| {sid} | {actions} | {_cell(resources)} |")
        out.append("")
    out += ["## PostgreSQL (the role manager's plan)", "",
            f"Owner of every schema: `{plan['owner']}` (NOLOGIN; migrations `SET ROLE` to it). Audit role (pgaudit "
            f"object auditing): `{plan['audit_role']}`, holding {', '.join(plan['audited_privileges'])} on every "
            f"table of {', '.join('`' + s + '`' for s in plan['audited_schemas'])}. Every service role: LOGIN, member "
            f"of `{plan['login_role']}` only (IAM authentication), CONNECT on the database, USAGE on its schemas, "
            "nothing else anywhere.", "",
            "| role | schema | table privileges |", "| --- | --- | --- |"]
    for role, grants in sorted(plan["roles"].items()):
        for schema, privileges in sorted(grants.items()):
            out.append(f"| `{role}` | `{schema}` | {', '.join(privileges)} |")
    out += ["", "## Redis (ElastiCache RBAC)", "", "| user | access string |", "| --- | --- |"]
    for user, access in sorted(redis.items()):
        out.append(f"| `{user}` | `{_cell(access)}` |")
    out += ["", *render_roles(synthesis)]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth-dir", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/compliance/access-model.md is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(Synthesis.load(args.synth_dir))
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(args.output), "generated"))
            print(f"\n{args.output} is stale: run `python3 tasks.py access-model`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
