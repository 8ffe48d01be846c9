"""The services' PostgreSQL roles, kept exactly as the configuration says: the role manager.

This file is the whole program of the role manager, an AWS Lambda function in the database's VPC
(``constructs_lib/role_manager.py`` packages it with pg8000) that Terraform invokes whenever the plan below
changes; the test suite runs the same ``converge`` against a real PostgreSQL 15 server with pgaudit
(``tests/test_postgres_roles.py``). It imports nothing from the rest of the project.

What it makes true, in one transaction, under an advisory lock (two applies never interleave):

* ``pgaudit`` is created in the database once the library is preloaded (after the parameter group's reboot);
* ``globalpay_owner`` (NOLOGIN) owns the application schemas; ``rds_pgaudit`` (NOLOGIN) is pgaudit's object
  audit role and holds the audited privileges on every table of the cardholder schemas;
* one LOGIN role per service: no superuser, no CREATEROLE, no CREATEDB, member of ``rds_iam`` only (RDS then
  accepts IAM authentication tokens for it, and nothing else), with CONNECT on the database, USAGE on its
  schemas and exactly its table privileges there (on existing tables, and by default privileges on the tables
  ``globalpay_owner`` creates later); every other privilege a service role holds anywhere is revoked, and so
  are PUBLIC's privileges on the database, on ``public`` and on the managed schemas;
* a service role that is no longer planned (the service was removed, or lost its database access) is
  dropped; a role is only ever dropped when it carries the manager's comment (``MANAGED_MARKER``).

It never sets a password: the services log in with IAM tokens. A second run with the same plan executes
nothing (``converge`` returns the statements it ran, an empty list then). Roles live in the cluster's shared
catalog and replicate to every read replica, so after a failover the promoted replica already has them and the
first run there is a no-op too (tested on a promoted standby). The result holds role, schema and table names
only: it is stored in Terraform state.
"""

from __future__ import annotations

import json
import re
import ssl
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``COMMENT ON ROLE`` of every role the manager created: the only roles it will ever drop.
MANAGED_MARKER = "globalpay: service login role, managed by the role manager"
#: Serializes concurrent runs (``pg_advisory_xact_lock``): an arbitrary, fixed key.
ADVISORY_LOCK_KEY = 7_201_903_411
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
#: Relation kinds the table privileges apply to (tables, partitioned tables, views, materialized views,
#: foreign tables) and sequences, whose USAGE an INSERT through a ``serial`` default needs.
TABLE_KINDS = ("r", "p", "v", "m", "f")
SEQUENCE_KIND = "S"
#: Schemas the manager never touches (besides ``public``, which it only closes to PUBLIC).
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
#: The RDS root certificates of the pinned certificate authority (``ca_cert_identifier`` rds-ca-rsa2048-g1),
#: shipped next to this file: the connection verifies the writer's certificate and host name.
CA_BUNDLE = Path(__file__).with_name("rds-ca-rsa2048-g1.pem")


class PlanError(ValueError):
    """The plan is malformed: nothing was run."""


@dataclass(frozen=True)
class Plan:
    """The roles, schemas and grants the database must hold (``constructs_lib.access.database_plan``)."""

    owner: str
    audit_role: str
    login_role: str
    schemas: tuple[str, ...]
    audited_schemas: tuple[str, ...]
    audited_privileges: tuple[str, ...]
    #: ``role -> schema -> table privileges``.
    roles: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        """Checked strictly: every name is a plain lower-case identifier, every privilege a known one."""
        try:
            plan = cls(
                owner=_identifier(data["owner"]),
                audit_role=_identifier(data["audit_role"]),
                login_role=_identifier(data["login_role"]),
                schemas=tuple(_identifier(s) for s in data["schemas"]),
                audited_schemas=tuple(_identifier(s) for s in data["audited_schemas"]),
                audited_privileges=_privileges(data["audited_privileges"]),
                roles={
                    _identifier(role): {_identifier(schema): _privileges(privs) for schema, privs in grants.items()}
                    for role, grants in data["roles"].items()
                },
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise PlanError(f"malformed plan: {exc!r}") from None
        special = {plan.owner, plan.audit_role, plan.login_role}
        if special & set(plan.roles):
            raise PlanError(f"a service role may not be named {sorted(special & set(plan.roles))}")
        for role, grants in plan.roles.items():
            unknown = set(grants) - set(plan.schemas)
            if unknown:
                raise PlanError(f"{role}: schemas {sorted(unknown)} are not in the plan's schemas")
        if set(plan.audited_schemas) - set(plan.schemas):
            raise PlanError("audited schemas must be among the plan's schemas")
        if "public" in plan.schemas or set(plan.schemas) & set(SYSTEM_SCHEMAS):
            raise PlanError("the plan may not manage public or a system schema")
        return plan


def _identifier(name: Any) -> str:
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or name.startswith("pg_"):
        raise PlanError(f"{name!r} is not a plain lower-case identifier")
    return name


def _privileges(privs: Any) -> tuple[str, ...]:
    if isinstance(privs, str) or not all(p in TABLE_PRIVILEGES for p in privs):
        raise PlanError(f"{privs!r}: privileges are a list of {', '.join(TABLE_PRIVILEGES)}")
    return tuple(p for p in TABLE_PRIVILEGES if p in privs)


# --------------------------------------------------------------------------------------------------
# Converging
# --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    """What a run did: the statements it executed (empty: nothing to do) and notes for the operator."""

    statements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"changed": bool(self.statements), "statements": self.statements, "notes": self.notes}


class Session:
    """The few calls ``converge`` needs from a pg8000 ``native.Connection`` (and nothing else)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.result = Result()

    def rows(self, sql: str, **params: Any) -> list[list[Any]]:
        return self.connection.run(sql, **params) or []

    def execute(self, sql: str) -> None:
        self.connection.run(sql)
        self.result.statements.append(sql)


def quote(name: str) -> str:
    """Names are checked identifiers (``Plan.from_json``) or come from the catalog: always double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def converge(connection: Any, plan: Plan) -> Result:
    """Make the database match ``plan`` (module docstring); returns what was executed."""
    session = Session(connection)
    connection.run("BEGIN")
    try:
        session.rows("SELECT pg_advisory_xact_lock(:key)", key=ADVISORY_LOCK_KEY)
        _extension(session)
        _support_roles(session, plan)
        _service_roles(session, plan)
        _database(session, plan)
        _schemas(session, plan)
        _relations(session, plan)
        _default_privileges(session, plan)
        _drop_unplanned(session, plan)
        connection.run("COMMIT")
    except BaseException:
        connection.run("ROLLBACK")
        raise
    return session.result


def _extension(s: Session) -> None:
    """``CREATE EXTENSION pgaudit`` once; while the library is not preloaded yet (the parameter group waits for a
    reboot) PostgreSQL refuses it: noted, and done by the first run after the reboot. Reading
    ``shared_preload_libraries`` needs pg_read_all_settings, hence the savepoint instead."""
    [[installed]] = s.rows("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgaudit')")
    if installed:
        return
    s.connection.run("SAVEPOINT pgaudit")
    try:
        s.execute("CREATE EXTENSION pgaudit")
    except Exception as exc:
        s.connection.run("ROLLBACK TO SAVEPOINT pgaudit")
        s.result.notes.append(f"pgaudit not created yet: {_message(exc)} (it is created by the first run after the "
                              f"reboot that loads shared_preload_libraries)")
    else:
        s.connection.run("RELEASE SAVEPOINT pgaudit")


def _message(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.get("M", str(detail)) if isinstance(detail, dict) else str(detail)


def _role_rows(s: Session, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = s.rows(
        "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,"
        " shobj_description(r.oid, 'pg_authid') FROM pg_roles r WHERE r.rolname = ANY(CAST(:names AS text[]))",
        names=list(names),
    )
    keys = ("login", "super", "createrole", "createdb", "replication", "bypassrls", "comment")
    return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}


def _attributes(s: Session, role: str, current: Mapping[str, Any], *, login: bool) -> None:
    """Keep a role's attributes: LOGIN as planned, no CREATEROLE or CREATEDB. SUPERUSER, REPLICATION and
    BYPASSRLS can only be set by a superuser; finding one is an incident, not something to fix quietly."""
    dangerous = [k for k in ("super", "replication", "bypassrls") if current[k]]
    if dangerous:
        raise RuntimeError(f"role {role} has {', '.join(dangerous).upper()}: only a superuser can set that; investigate")
    wanted = {"login": login, "createrole": False, "createdb": False}
    words = {"login": ("LOGIN", "NOLOGIN"), "createrole": ("CREATEROLE", "NOCREATEROLE"), "createdb": ("CREATEDB", "NOCREATEDB")}
    changes = [words[k][0] if v else words[k][1] for k, v in wanted.items() if current[k] != v]
    if changes:
        s.execute(f"ALTER ROLE {quote(role)} {' '.join(changes)}")


def _support_roles(s: Session, plan: Plan) -> None:
    """The schema owner and the audit role (NOLOGIN); the connected administrator becomes a member of the owner,
    which ``CREATE SCHEMA ... AUTHORIZATION`` and ``ALTER DEFAULT PRIVILEGES FOR ROLE`` require."""
    existing = _role_rows(s, (plan.owner, plan.audit_role))
    for role in (plan.owner, plan.audit_role):
        if role not in existing:
            s.execute(f"CREATE ROLE {quote(role)} NOLOGIN")
        else:
            _attributes(s, role, existing[role], login=False)
    [[member]] = s.rows("SELECT pg_has_role(current_user, :owner, 'MEMBER')", owner=plan.owner)
    if not member:
        s.execute(f"GRANT {quote(plan.owner)} TO CURRENT_USER")


def _managed_roles(s: Session) -> set[str]:
    rows = s.rows(
        "SELECT r.rolname FROM pg_roles r WHERE shobj_description(r.oid, 'pg_authid') = :marker", marker=MANAGED_MARKER
    )
    return {row[0] for row in rows}


def _service_roles(s: Session, plan: Plan) -> None:
    existing = _role_rows(s, plan.roles)
    for role in sorted(plan.roles):
        if role not in existing:
            s.execute(f"CREATE ROLE {quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
            s.execute(f"COMMENT ON ROLE {quote(role)} IS {literal(MANAGED_MARKER)}")
            continue
        if existing[role]["comment"] != MANAGED_MARKER:
            raise RuntimeError(f"role {role} exists but was not created by the role manager: rename the service or "
                               f"review and drop the role by hand")
        _attributes(s, role, existing[role], login=True)
    # Memberships: a service role is a member of rds_iam and of nothing else, and no role is a member of it.
    rows = s.rows(
        "SELECT g.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid"
        " JOIN pg_roles m ON m.oid = a.member WHERE g.rolname = ANY(CAST(:roles AS text[]))"
        " OR m.rolname = ANY(CAST(:roles AS text[]))",
        roles=list(plan.roles),
    )
    memberships = {(group, member) for group, member in rows}
    for role in sorted(plan.roles):
        if (plan.login_role, role) not in memberships:
            s.execute(f"GRANT {quote(plan.login_role)} TO {quote(role)}")
    for group, member in sorted(memberships):
        if member in plan.roles and group != plan.login_role:
            s.execute(f"REVOKE {quote(group)} FROM {quote(member)}")
        elif group in plan.roles:
            s.execute(f"REVOKE {quote(group)} FROM {quote(member)}")


def _acl_rows(s: Session, sql: str, **params: Any) -> dict[tuple[Any, ...], set[str]]:
    """``{(object..., grantee): {privilege}}`` from a query whose last two columns are grantee and privilege."""
    found: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for row in s.rows(sql, **params):
        found[tuple(row[:-1])].add(row[-1])
    return found


def _sync(s: Session, current: Mapping[str, set[str]], wanted: Mapping[str, set[str]],
          grant: Callable[[str, str], str], revoke: Callable[[str, str], str], order: Sequence[str]) -> None:
    """GRANT what is missing and REVOKE what is extra, per grantee; privileges in ``order``."""
    for grantee in sorted(set(current) | set(wanted)):
        have, want = current.get(grantee, set()), wanted.get(grantee, set())
        missing = [p for p in order if p in want - have]
        extra = [p for p in order if p in have - want]
        if missing:
            s.execute(grant(", ".join(missing), grantee))
        if extra:
            s.execute(revoke(", ".join(extra), grantee))


def _grantee(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else quote(name)


def _database(s: Session, plan: Plan) -> None:
    """CONNECT for every service role, nothing for PUBLIC; other grantees are the administrators' business."""
    managed = set(plan.roles) | {plan.audit_role}
    acl = _acl_rows(
        s,
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type"
        " FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a"
        " WHERE d.datname = current_database()",
    )
    current = {g: p for (g,), p in acl.items() if g == "PUBLIC" or g in managed}
    wanted = {role: {"CONNECT"} for role in plan.roles}
    [[database]] = s.rows("SELECT current_database()")
    db = quote(database)
    _sync(s, current, wanted,
          lambda p, g: f"GRANT {p} ON DATABASE {db} TO {_grantee(g)}",
          lambda p, g: f"REVOKE {p} ON DATABASE {db} FROM {_grantee(g)}",
          ("CONNECT", "CREATE", "TEMPORARY"))


def _schemas(s: Session, plan: Plan) -> None:
    """The planned schemas exist, owned by the owner role; USAGE for the services that have grants there, and
    no privilege on any schema for PUBLIC or a service role beyond that (``public`` included)."""
    owners = {name: owner for name, owner in s.rows(
        "SELECT n.nspname, pg_get_userbyid(n.nspowner) FROM pg_namespace n WHERE n.nspname = ANY(CAST(:names AS text[]))",
        names=list(plan.schemas))}
    for schema in plan.schemas:
        if schema not in owners:
            s.execute(f"CREATE SCHEMA {quote(schema)} AUTHORIZATION {quote(plan.owner)}")
        elif owners[schema] != plan.owner:
            s.execute(f"ALTER SCHEMA {quote(schema)} OWNER TO {quote(plan.owner)}")
    managed = set(plan.roles) | {plan.audit_role}
    acl = _acl_rows(
        s,
        "SELECT n.nspname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type"
        " FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a"
        " WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'",
    )
    by_schema: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for (schema, grantee), privs in acl.items():
        if grantee == "PUBLIC" or grantee in managed:
            by_schema[schema][grantee] = privs
    for schema in sorted(set(by_schema) | set(plan.schemas)):
        wanted = {role: {"USAGE"} for role, grants in plan.roles.items() if schema in grants}
        _sync(s, by_schema.get(schema, {}), wanted,
              lambda p, g, n=schema: f"GRANT {p} ON SCHEMA {quote(n)} TO {_grantee(g)}",
              lambda p, g, n=schema: f"REVOKE {p} ON SCHEMA {quote(n)} FROM {_grantee(g)}",
              ("USAGE", "CREATE"))


def _wanted_on_relation(plan: Plan, schema: str, kind: str) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for role, grants in plan.roles.items():
        privs = grants.get(schema)
        if not privs:
            continue
        if kind in TABLE_KINDS:
            wanted[role] = set(privs)
        elif kind == SEQUENCE_KIND and "INSERT" in privs:
            wanted[role] = {"USAGE"}
    if kind in ("r", "p") and schema in plan.audited_schemas:
        wanted[plan.audit_role] = set(plan.audited_privileges)
    return wanted


RELATION_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "USAGE")


def _relations(s: Session, plan: Plan) -> None:
    """Every relation of every non-system schema: the service and audit roles hold exactly their privileges."""
    managed = set(plan.roles) | {plan.audit_role}
    rows = s.rows(
        "SELECT n.nspname, c.relname, c.relkind,"
        " CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault("
        "   CAST(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END AS \"char\"), c.relowner))) a ON true"
        " WHERE c.relkind = ANY(CAST(:kinds AS \"char\"[])) AND n.nspname NOT LIKE 'pg\\_%'"
        " AND n.nspname <> 'information_schema' ORDER BY 1, 2",
        kinds=[*TABLE_KINDS, SEQUENCE_KIND],
    )
    relations: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    for schema, name, kind, grantee, privilege in rows:
        current = relations.setdefault((schema, name, kind), {})
        if grantee in managed:
            current.setdefault(grantee, set()).add(privilege)
    for (schema, name, kind), current in sorted(relations.items()):
        target = f"{quote(schema)}.{quote(name)}"
        noun = "SEQUENCE" if kind == SEQUENCE_KIND else "TABLE"
        _sync(s, current, _wanted_on_relation(plan, schema, kind),
              lambda p, g, t=target, k=noun: f"GRANT {p} ON {k} {t} TO {_grantee(g)}",
              lambda p, g, t=target, k=noun: f"REVOKE {p} ON {k} {t} FROM {_grantee(g)}",
              RELATION_PRIVILEGES)


def _default_privileges(s: Session, plan: Plan) -> None:
    """Tables and sequences the owner creates later get the same grants (``ALTER DEFAULT PRIVILEGES``)."""
    acl = _acl_rows(
        s,
        "SELECT n.nspname, d.defaclobjtype, pg_get_userbyid(a.grantee), a.privilege_type"
        " FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
        " WHERE d.defaclrole = CAST(:owner AS regrole) AND a.grantee <> d.defaclrole",
        owner=plan.owner,
    )
    managed = set(plan.roles) | {plan.audit_role}
    current: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(dict)
    for (schema, objtype, grantee), privs in acl.items():
        if grantee in managed:
            current[(schema, objtype)][grantee] = privs
    for schema in plan.schemas:
        for objtype in ("r", "S"):
            current.setdefault((schema, objtype), {})
    owner = quote(plan.owner)
    for (schema, objtype), have in sorted(current.items()):
        kind, noun = ("r", "TABLES") if objtype == "r" else (SEQUENCE_KIND, "SEQUENCES")
        wanted = _wanted_on_relation(plan, schema, kind) if schema in plan.schemas else {}
        prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {quote(schema)}"
        _sync(s, have, wanted,
              lambda p, g, x=prefix, o=noun: f"{x} GRANT {p} ON {o} TO {_grantee(g)}",
              lambda p, g, x=prefix, o=noun: f"{x} REVOKE {p} ON {o} FROM {_grantee(g)}",
              RELATION_PRIVILEGES)


def _drop_unplanned(s: Session, plan: Plan) -> None:
    """A managed role the plan no longer lists: it can no longer log in, its sessions end, what it owns here goes
    to the owner, its privileges here go, then the role. Only roles carrying ``MANAGED_MARKER`` are considered.

    ``DROP OWNED`` only reaches this database: a role that someone granted something in another database cannot
    be dropped. It stays, unable to log in, and the run says so (and tries again next time)."""
    unplanned = _managed_roles(s) - set(plan.roles)
    rows = _role_rows(s, unplanned)
    for role in sorted(unplanned):
        r = quote(role)
        if rows[role]["login"]:
            s.execute(f"ALTER ROLE {r} NOLOGIN")
        s.rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role", role=role)
        done = len(s.result.statements)
        s.connection.run("SAVEPOINT drop_role")
        try:
            [[member]] = s.rows("SELECT pg_has_role(current_user, :role, 'MEMBER')", role=role)
            if not member:  # REASSIGN OWNED and DROP OWNED need the privileges of the role (PostgreSQL 15)
                s.execute(f"GRANT {r} TO CURRENT_USER")
            s.execute(f"REASSIGN OWNED BY {r} TO {quote(plan.owner)}")
            s.execute(f"DROP OWNED BY {r}")
            s.execute(f"DROP ROLE {r}")
        except Exception as exc:
            s.connection.run("ROLLBACK TO SAVEPOINT drop_role")
            del s.result.statements[done:]
            s.result.notes.append(f"role {role} is no longer planned and cannot log in, but was not dropped: "
                                  f"{_message(exc)}")
        else:
            s.connection.run("RELEASE SAVEPOINT drop_role")


# --------------------------------------------------------------------------------------------------
# The Lambda function
# --------------------------------------------------------------------------------------------------


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Verify the server certificate against the RDS roots (default ``CA_BUNDLE``) and the host name
    (``sslmode=verify-full``)."""
    context = ssl.create_default_context(cafile=str(ca_file or CA_BUNDLE))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(*, host: str, port: int, database: str, user: str, password: str,
            ssl_context: ssl.SSLContext | None) -> Any:
    import pg8000.native  # shipped in the function's package; a dependency of the project as well

    return pg8000.native.Connection(user, host=host, port=port, database=database, password=password,
                                    ssl_context=ssl_context, timeout=60, application_name="globalpay-role-manager")


def master_credentials(secret_id: str) -> tuple[str, str]:
    """``username`` and ``password`` of the master credentials (the region's replica of the secret)."""
    import boto3  # part of the Lambda Python runtime

    value = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    return value["username"], value["password"]


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"plan": {...}, "host": ..., "port": ..., "database": ..., "secret_id": ...}`` -> the ``Result``.

    The invocation's result is kept in Terraform state: it holds names only, never the credentials."""
    plan = Plan.from_json(event["plan"])
    user, password = master_credentials(event["secret_id"])
    connection = connect(host=event["host"], port=int(event["port"]), database=event["database"], user=user,
                         password=password, ssl_context=tls_context())
    try:
        result = converge(connection, plan)
    finally:
        connection.close()
    print(json.dumps({"changed": bool(result.statements), "statements": len(result.statements), "notes": result.notes}))
    return result.as_json()
