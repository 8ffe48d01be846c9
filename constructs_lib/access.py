"""The access model: what each GlobalPay service may reach, derived from ``workloads.services[].access``.

One identity per service, end to end (PCI DSS 7.2.1, 7.2.2, 8.2.2): a Kubernetes service account named after the
service, an IAM role trusted by that service account only (``constructs_lib/identity.py``), a PostgreSQL login
role authenticated by IAM (``constructs_lib/postgres_roles.py``), an ElastiCache user limited to the service's
own keys (``constructs_lib/cache.py``) and IAM permissions on exactly its Kafka topics and consumer group. This
module holds the names and rules every one of those is built from, so they cannot disagree; it imports no
provider binding (the validator and the role manager's tests use it too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from constructs_lib.config import EnvironmentConfig, ServiceAccess, ServiceConfig
from constructs_lib.naming import Naming

# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------

#: The master credentials (``globalpay/<env>/database/credentials``): break-glass and the role manager only.
MASTER_SECRET = "database/credentials"
#: Shared secrets a service may read, with the JSON properties their values hold (docs/data-tier.md).
SECRET_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "jwt/keys": ("private_key", "public_key"),
    "api/keys": ("stripe_key", "plaid_key"),
}


def secret_env_name(secret: str, prop: str) -> str:
    """``jwt/keys`` ``private_key`` -> ``JWT_PRIVATE_KEY``: the variable the container gets the value in."""
    return f"{secret.split('/')[0]}_{prop}".upper()


# --------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------

#: Owns the application schemas and their tables (NOLOGIN). Migrations run ``SET ROLE globalpay_owner``, so
#: every table gets the services' grants through default privileges.
POSTGRES_OWNER_ROLE = "globalpay_owner"
#: pgaudit object auditing: statements on tables this role holds a privilege on are logged. RDS accepts no
#: other name in ``pgaudit.role`` (RDS user guide, "Reference for the pgAudit extension": "The only allowable
#: entry is rds_pgaudit").
POSTGRES_AUDIT_ROLE = "rds_pgaudit"
#: Granted to a login role, it makes RDS accept IAM authentication tokens for it (and only those).
POSTGRES_IAM_ROLE = "rds_iam"
#: Table privileges a service may hold; TRUNCATE, REFERENCES and TRIGGER are never granted.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
#: What pgaudit logs on cardholder tables: every read and write (PCI DSS 10.2.1.1, 10.2.1.2).
AUDITED_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
#: Schemas the services never get: the catalog, and ``public`` (every role's default search path).
RESERVED_SCHEMAS = ("public", "information_schema")
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def postgres_role(service: str) -> str:
    """``payment-processor`` -> ``payment_processor``: a lower-case identifier, never quoted in SQL."""
    return service.replace("-", "_")


def table_privileges(text: str) -> tuple[str, ...]:
    """``"SELECT, insert"`` -> ``("SELECT", "INSERT")`` in ``TABLE_PRIVILEGES`` order (unknown ones kept, for
    the validator to name)."""
    given = [p.strip().upper() for p in text.split(",") if p.strip()]
    known = [p for p in TABLE_PRIVILEGES if p in given]
    return (*known, *sorted(set(given) - set(TABLE_PRIVILEGES)))


def database_grants(access: ServiceAccess) -> dict[str, tuple[str, ...]]:
    """``{schema: privileges}`` of a service, sorted by schema."""
    return {schema: table_privileges(access.database_grants[schema]) for schema in sorted(access.database_grants)}


def database_plan(config: EnvironmentConfig) -> dict[str, Any]:
    """The role manager's input: every role, schema and grant the database must hold, nothing secret.

    Terraform passes it to the role manager (``aws_lambda_invocation``) whenever it changes; the role manager
    makes the database match it and drops the managed roles it no longer lists.
    """
    roles = {
        postgres_role(s.name): {schema: list(privs) for schema, privs in database_grants(s.access).items()}
        for s in config.workloads.services if s.access.database_grants
    }
    schemas = sorted({schema for grants in roles.values() for schema in grants} | set(config.database.cardholder_schemas))
    return {
        "owner": POSTGRES_OWNER_ROLE,
        "audit_role": POSTGRES_AUDIT_ROLE,
        "login_role": POSTGRES_IAM_ROLE,
        "schemas": schemas,
        "audited_schemas": sorted(config.database.cardholder_schemas),
        "audited_privileges": list(AUDITED_PRIVILEGES),
        "roles": dict(sorted(roles.items())),
    }


# --------------------------------------------------------------------------------------------------
# Redis (ElastiCache RBAC)
# --------------------------------------------------------------------------------------------------

#: The ``default`` user every user group must contain, switched off: an unauthenticated connection can do nothing.
DEFAULT_USER_ACCESS_STRING = "off -@all"
#: Removed after a service's own rules, whatever they say: the dangerous category (FLUSHALL, FLUSHDB, CONFIG,
#: KEYS, DEBUG, MONITOR, SHUTDOWN, ACL, SORT, MIGRATE, ...), FUNCTION (functions are global, not per key, and
#: ``FUNCTION FLUSH`` is in @write), and SCAN/RANDOMKEY (they return other services' key names: key patterns do
#: not filter them).
REDIS_ALWAYS_REMOVED = ("-@dangerous", "-function", "-scan", "-randomkey")
#: Added last, because common clients call them on every connection and fail or warn without them: PING (health
#: checks), INFO (ioredis' ready check: lib/Redis.ts ``_readyCheck`` runs INFO before it reports ready; INFO is
#: in @dangerous, so it is re-added alone, not its category), HELLO (RESP3 and ``HELLO 3 AUTH``), CLIENT
#: SETNAME/GETNAME/ID/INFO (connection names), ECHO and QUIT. Nothing here reads or writes a key.
REDIS_CLIENT_COMMANDS = ("+ping", "+echo", "+quit", "+hello", "+info",
                         "+client|setname", "+client|getname", "+client|id", "+client|info")
#: A service's own rule: a command or category, allowed or denied (``+@read``, ``+eval``, ``-del``,
#: ``+script|load``). Key and channel patterns are the code's, never the configuration's.
REDIS_RULE = re.compile(r"[+-](@[a-z]+|[a-z][a-z_]*(\|[a-z][a-z-]*)?)")
#: Rules that would hand a service every command of the server, whatever the key.
REDIS_FORBIDDEN_RULES = ("+@all", "+@admin", "+@dangerous")


def redis_user(naming: Naming, service: str) -> str:
    """``globalpay-<env>-<service>``: user id = user name, lower case, as ElastiCache IAM authentication needs."""
    return naming.name(service)


def redis_key_prefix(service: str) -> str:
    """The keys (and channels) a service owns: ``payment-processor:*``."""
    return f"{service}:"


def redis_access_string(service: ServiceConfig) -> str:
    """``on ~<service>:* &<service>:* -@all <its rules> -@dangerous ... +ping +info ...``."""
    prefix = redis_key_prefix(service.name)
    return " ".join(("on", f"~{prefix}*", f"&{prefix}*", "-@all", *service.access.redis_commands,
                     *REDIS_ALWAYS_REMOVED, *REDIS_CLIENT_COMMANDS))


# --------------------------------------------------------------------------------------------------
# Kafka (MSK IAM access control)
# --------------------------------------------------------------------------------------------------

#: Legal Kafka topic and group names (Kafka's ``Topic.validate``: [a-zA-Z0-9._-], at most 249 characters).
KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def consumer_group(service: str) -> str:
    """A service consumes as the group named after it (its IAM policy names exactly this group)."""
    return service


# --------------------------------------------------------------------------------------------------
# The model, per service
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceIdentity:
    """Every name one service is known by, in every system (docs/compliance/access-model.md)."""

    service: str
    #: Kubernetes service account (in the workloads namespace).
    service_account: str
    #: ``globalpay-<env>-<service>-<region>``.
    iam_role: str
    #: Empty when the service has no database grants (no role exists then).
    postgres_role: str
    redis_user: str
    redis_access_string: str
    bucket_prefix: str
    secrets: tuple[str, ...]
    kafka_produce: tuple[str, ...]
    kafka_consume: tuple[str, ...]
    kafka_group: str
    publish_payment_events: bool
    consume_payment_events: bool


def identity(naming: Naming, service: ServiceConfig) -> ServiceIdentity:
    a = service.access
    return ServiceIdentity(
        service=service.name,
        service_account=service.name,
        iam_role=naming.regional(service.name),
        postgres_role=postgres_role(service.name) if a.database_grants else "",
        redis_user=redis_user(naming, service.name),
        redis_access_string=redis_access_string(service),
        bucket_prefix=service.name,
        secrets=tuple(a.secrets),
        kafka_produce=tuple(a.kafka_produce),
        kafka_consume=tuple(a.kafka_consume),
        kafka_group=consumer_group(service.name) if a.kafka_consume else "",
        publish_payment_events=a.publish_payment_events,
        consume_payment_events=a.consume_payment_events,
    )


def identities(naming: Naming, services: Iterable[ServiceConfig]) -> tuple[ServiceIdentity, ...]:
    return tuple(identity(naming, s) for s in services)
