"""Database audit logging (PCI DSS 10.2): what the PostgreSQL parameter groups add for it, and why.

* **pgaudit** in ``shared_preload_libraries``. Session auditing of the ``ddl`` and ``role`` classes: every schema
  change and every CREATE/ALTER/DROP ROLE, GRANT and REVOKE (PCI DSS 10.2.1.5, 10.2.1.6, 10.2.2). Object
  auditing through ``pgaudit.role``: every SELECT, INSERT, UPDATE and DELETE on a table the audit role holds
  that privilege on, which the role manager grants on every table of ``database.cardholder_schemas``
  (10.2.1.1, ``constructs_lib/postgres_roles.py``). The ``read``/``write`` session classes stay off: they
  would log every statement of every service, lookups included, and bury the cardholder-data trail.
* **No bind values in any log.** ``log_min_duration_statement`` logs slow statements and, with them, their
  bind parameters (``parameters: $1 = '4111...'``); an error logs them too. ``log_parameter_max_length = 0``
  and ``log_parameter_max_length_on_error = 0`` drop them; ``pgaudit.log_parameter = 0`` keeps them out of
  the audit lines (PCI DSS 3.3, 3.4: no PAN in logs). Statements are logged as sent: with placeholders when
  the services bind their values (docs/data-tier.md says they must).
* ``log_statement = none``: pgaudit's ``ddl`` class replaces it (both would write every DDL statement twice).

Apply methods are RDS's: ``shared_preload_libraries`` is static (PostgreSQL context ``postmaster``), so RDS
accepts only ``pending-reboot`` and the library loads at the next reboot; a new instance starts with it. The
others are dynamic (contexts ``superuser``/``user``/``sighup``) and apply at once. ``tests/test_postgres_roles.py``
starts a real PostgreSQL 15 with pgaudit from these very values and checks each one took, that every
``immediate`` one is not a ``postmaster`` setting, that an audited statement is logged and a bind value is not.

Sources: RDS user guide, "Setting up the pgAudit extension" (pgaudit in shared_preload_libraries, reboot,
``CREATE EXTENSION pgaudit``) and "Reference for the pgAudit extension" (``pgaudit.log`` classes;
``pgaudit.role``: "The only allowable entry is rds_pgaudit"); ``describe-engine-default-parameters`` output of
an Aurora PostgreSQL family (``log_parameter_max_length`` and ``log_parameter_max_length_on_error``: ApplyType
dynamic, integer, AllowedValues -1-1073741823); PostgreSQL 15 runtime configuration ("Reporting and Logging").
RDS loads ``pg_stat_statements`` by default (default.postgres15); setting the parameter replaces that default,
so it is listed again.
"""

from __future__ import annotations

from constructs_lib.access import POSTGRES_AUDIT_ROLE

#: pgaudit session classes (RDS allows ddl, function, misc, read, role, write, none, all).
PGAUDIT_LOG_CLASSES = ("ddl", "role")
#: ``(name, value, apply_method)`` of every audit parameter, in the order the parameter groups list them.
AUDIT_PARAMETERS: tuple[tuple[str, str, str], ...] = (
    ("shared_preload_libraries", "pg_stat_statements,pgaudit", "pending-reboot"),
    ("pgaudit.log", ",".join(PGAUDIT_LOG_CLASSES), "immediate"),
    ("pgaudit.role", POSTGRES_AUDIT_ROLE, "immediate"),
    ("pgaudit.log_parameter", "0", "immediate"),
    ("log_parameter_max_length", "0", "immediate"),
    ("log_parameter_max_length_on_error", "0", "immediate"),
    ("log_statement", "none", "immediate"),
)


def audit_parameters() -> list[dict[str, str]]:
    """``parameter`` blocks of an ``aws_db_parameter_group`` / ``aws_rds_cluster_parameter_group``."""
    return [{"name": n, "value": v, "apply_method": m} for n, v, m in AUDIT_PARAMETERS]
