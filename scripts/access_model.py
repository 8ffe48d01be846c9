#!/usr/bin/env python
"""Write docs/access-model.md: who may do what, read from the synthesized JSON (the policies Terraform applies).

    python scripts/access_model.py                   # read cdktf.out (run `python3 tasks.py synth` first)
    python scripts/access_model.py --synth-dir DIR   # another synthesis
    python scripts/access_model.py --check           # exit 1 if docs/access-model.md differs (the test does this)

A reviewer reads this table instead of JSON: per service, its Kubernetes service account, the statements of its
IAM role (action -> resource), its database login and PostgreSQL grants, its Redis user and access string. It is
built from one region (the origin's core and -apps stacks of prod; the other regions differ only in region
names) and from nothing but the JSON, so a policy cannot say more than the table shows. Terraform references
are written out: ``${aws_msk_cluster.x.arn}`` as the cluster's name, a key ARN read from another stack as that
key's purpose, the partition as ``aws``, the account as ``<account>``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.synthesis import Synthesis  # noqa: E402  (after the sys.path entry above)

OUTPUT = ROOT / "docs" / "access-model.md"
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


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(stacks: dict[str, dict[str, Any]]) -> str:
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
        "     `.venv/bin/python scripts/access_model.py` after `python3 tasks.py synth`. -->",
        "",
        f"Read from the synthesized `globalpay-{ENV}-{REGION}` and `globalpay-{ENV}-{REGION}-apps` stacks (every region",
        "has the same, with its own region, cluster and stores). Configuration: `workloads.services[].access`",
        "([configuration.md](configuration.md#workloadsservicesaccess-serviceaccess)); why each piece is built as it",
        "is: [data-tier.md](data-tier.md#least-privilege-one-identity-per-service). The synth refuses a workload",
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
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth-dir", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/access-model.md is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(Synthesis.load(args.synth_dir).stacks)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(args.output), "generated"))
            print(f"\n{args.output} is stale: run .venv/bin/python scripts/access_model.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
