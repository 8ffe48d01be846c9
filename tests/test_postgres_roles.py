"""The role manager and the audit parameters against a real PostgreSQL 15 server with pgaudit.

The server (tests/servers.py) starts with the synthesized writer parameter group of prod, less what only RDS
knows or what is sized for a db.r6g.2xlarge (``NOT_ON_A_TEST_SERVER``), and with TLS from a test certificate
authority. What RDS gives its master user is set up first by the bootstrap superuser, as RDS's own
``rdsadmin`` does: ``globalpay_admin`` (LOGIN, CREATEROLE, CREATEDB, pg_signal_backend; not a superuser) owning
the ``globalpay`` database, the ``rds_iam`` role, and the pgaudit extension (``rds_superuser`` may create it
on RDS; a plain PostgreSQL needs a superuser). Everything else is the role manager's doing, run as
``globalpay_admin``, from the very package the Lambda function gets.

``REVIEWED_ACCESS`` is the reviewed access matrix: what each service may do to each schema's tables. It is
written here, not read from the configuration, so that widening a grant (in the configuration or in the role
manager) fails ``test_each_service_can_do_exactly_its_reviewed_grants`` until the matrix is reviewed too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import postgres_roles, role_manager
from constructs_lib.access import database_plan
from constructs_lib.config import load_config
from regions import REGION_SPECS
from tests.servers import SUPERUSER, PostgresServer, ServerError
from tests.synth import by_path

US = "globalpay-prod-us-east-1"
ADMIN, ADMIN_PASSWORD = "globalpay_admin", "test-only-master-password"
DATABASE = "globalpay"
#: The reviewed matrix: role -> schema -> table privileges. Nothing else anywhere.
REVIEWED_ACCESS = {
    "api_gateway": {"gateway": {"SELECT", "INSERT", "UPDATE", "DELETE"}},
    "payment_processor": {"payments": {"SELECT", "INSERT", "UPDATE"}},
    "reconciliation_engine": {"payments": {"SELECT"}, "reconciliation": {"SELECT", "INSERT", "UPDATE", "DELETE"}},
}
#: Parameters of the group that the test server does not take, and why.
NOT_ON_A_TEST_SERVER = {
    "rds.force_ssl": "an RDS parameter (the test server requires TLS for the master through pg_hba instead)",
    "shared_buffers": "16 GiB: sized for a db.r6g.2xlarge",
    "max_connections": "sized for a db.r6g.2xlarge (and tied to shared memory)",
}
#: A card number as an application would bind it: it must never reach a log.
PAN = "4111111111111111"


def _plan(overrides: dict | None = None) -> postgres_roles.Plan:
    return postgres_roles.Plan.from_json(json.loads(json.dumps(database_plan(load_config("prod", REGION_SPECS, overrides)))))


def _certificates(folder: Path) -> dict[str, Path]:
    """A test certificate authority and a server certificate for ``localhost`` (openssl)."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=GlobalPay test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.cnf")
    (folder / "server.key").chmod(0o600)
    return {"ca": folder / "ca.pem", "cert": folder / "server.crt", "key": folder / "server.key"}


def parameter_group(prod) -> dict[str, tuple[str, str]]:
    group = by_path(prod[US], "aws_db_parameter_group", "/data/database/parameter-group")
    return {p["name"]: (p["value"], p["apply_method"]) for p in group["parameter"]}


@pytest.fixture(scope="module")
def server(prod) -> Iterator[dict[str, Any]]:
    settings = {name: value for name, (value, _) in parameter_group(prod).items() if name not in NOT_ON_A_TEST_SERVER}
    # The master user logs in with a password over TLS only (as rds.force_ssl makes RDS do); everyone else by
    # trust, so the tests can act as each service role (IAM tokens do not exist here).
    pg = PostgresServer(settings=settings,
                        hba=(f"hostssl {DATABASE} {ADMIN} 127.0.0.1/32 scram-sha-256", f"host all {ADMIN} 127.0.0.1/32 reject"))
    certs = _certificates(pg.base)
    pg.settings.update(ssl="on", ssl_cert_file=str(certs["cert"]), ssl_key_file=str(certs["key"]))
    try:
        pg.start()
        boot = pg.connect(SUPERUSER, "postgres")
        for sql in (f"CREATE ROLE {ADMIN} LOGIN CREATEROLE CREATEDB PASSWORD '{ADMIN_PASSWORD}'",
                    f"GRANT pg_signal_backend TO {ADMIN}", "CREATE ROLE rds_iam NOLOGIN",
                    f"CREATE DATABASE {DATABASE} OWNER {ADMIN}"):
            boot.run(sql)
        boot.close()
        boot = pg.connect(SUPERUSER, DATABASE)
        boot.run("CREATE EXTENSION pgaudit")
        boot.close()
        yield {"pg": pg, "ca": certs["ca"]}
    finally:
        pg.cleanup()


def run_packaged_handler(tmp_path: Path, server: dict[str, Any], plan: dict) -> dict[str, Any]:
    """The Lambda function's package, unzipped, run by a Python that sees nothing else (``-I -S``: no site
    packages): the handler reads the master credentials (stubbed: no Secrets Manager here) and connects over
    TLS, verifying the server's certificate and host name against the given authority."""
    folder = tmp_path / "package"
    with zipfile.ZipFile(role_manager.package_file()[0]) as archive:
        archive.extractall(folder)
    driver = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(folder)!r})\n"
        "from pathlib import Path\n"
        "import postgres_roles\n"
        "event = json.load(sys.stdin)\n"
        "postgres_roles.CA_BUNDLE = Path(event.pop('test_ca'))\n"
        "credentials = event.pop('test_credentials')\n"
        "postgres_roles.master_credentials = lambda secret_id: tuple(credentials)\n"
        "print(json.dumps(postgres_roles.handler(event)))\n"
    )
    event = {"plan": plan, "host": "localhost", "port": server["pg"].port, "database": DATABASE,
             "secret_id": "globalpay/prod/database/credentials", "test_ca": str(server["ca"]),
             "test_credentials": [ADMIN, ADMIN_PASSWORD]}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", driver], input=json.dumps(event), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def managed(server, tmp_path_factory) -> dict[str, Any]:
    """The role manager's first and second run on the fresh database (from the package, as the Lambda does)."""
    plan = database_plan(load_config("prod", REGION_SPECS))
    tmp = tmp_path_factory.mktemp("handler")
    first = run_packaged_handler(tmp, server, plan)
    second = run_packaged_handler(tmp, server, plan)
    # Tables the application's migrations create later, as the schema owner (default privileges apply).
    admin = admin_connection(server)
    admin.run("SET ROLE globalpay_owner")
    for sql in ("CREATE TABLE gateway.api_clients (id serial PRIMARY KEY, name text)",
                "CREATE TABLE payments.payments (id serial PRIMARY KEY, pan_token text, amount_cents bigint)",
                "CREATE TABLE reconciliation.ledger (id serial PRIMARY KEY, payment_id int, status text)"):
        admin.run(sql)
    admin.close()
    return {"first": first, "second": second, "plan": plan}


def admin_connection(server: dict[str, Any], database: str = DATABASE) -> Any:
    return server["pg"].connect(ADMIN, database, password=ADMIN_PASSWORD,
                                ssl_context=postgres_roles.tls_context(server["ca"]))


def as_role(server: dict[str, Any], role: str) -> Any:
    return server["pg"].connect(role, DATABASE)


def allowed(conn: Any, sql: str, **params: Any) -> bool:
    """Run ``sql`` in a transaction that is rolled back: True if PostgreSQL allowed it, False on a permission
    error (anything else fails the test)."""
    conn.run("BEGIN")
    try:
        conn.run(sql, **params)
        return True
    except Exception as exc:
        state = exc.args[0].get("C") if exc.args and isinstance(exc.args[0], dict) else None
        if state == "42501":  # insufficient_privilege
            return False
        raise
    finally:
        conn.run("ROLLBACK")


# ------------------------------------------------------------------------------------------------------
# The parameter group on a real server
# ------------------------------------------------------------------------------------------------------


def test_the_parameter_group_takes_on_postgresql_15_with_pgaudit(prod, server):
    """Every parameter of the writer's group (less ``NOT_ON_A_TEST_SERVER``) is a setting PostgreSQL 15 knows and
    now holds; pgaudit is loaded; and no ``immediate`` parameter is a static one (``postmaster`` context: RDS
    refuses ``immediate`` for those and takes them only at a reboot)."""
    group = parameter_group(prod)
    assert {"shared_preload_libraries", "pgaudit.log", "pgaudit.role", "log_parameter_max_length",
            "log_parameter_max_length_on_error"} <= set(group)
    conn = server["pg"].connect(SUPERUSER, DATABASE)
    settings = {name: (setting, context, vartype) for name, setting, context, vartype in
                conn.run("SELECT name, setting, context, vartype FROM pg_settings")}
    for name, (value, method) in sorted(group.items()):
        if name in NOT_ON_A_TEST_SERVER:
            continue
        assert name in settings, f"{name} is not a PostgreSQL 15 setting"
        setting, context, vartype = settings[name]
        if vartype == "bool":  # RDS takes booleans as 1/0
            value = {"1": "on", "0": "off"}.get(value, value)
        assert setting.replace(" ", "") == value, (name, setting, value)
        if method == "immediate":
            assert context != "postmaster", f"{name} is static ({context}): RDS takes only pending-reboot"
    assert settings["shared_preload_libraries"][1] == "postmaster" and group["shared_preload_libraries"][1] == "pending-reboot"
    assert conn.run("SELECT extname FROM pg_extension WHERE extname = 'pgaudit'") == [["pgaudit"]]
    conn.close()


def test_audited_statements_reach_the_log_and_bind_values_never_do(server, managed):
    """pgaudit logs role changes (the role manager's), DDL (a migration) and every write to a cardholder table
    (object auditing through rds_pgaudit), with placeholders; a slow statement and a failing one, both with a
    bound card number, leave no trace of it (log_parameter_max_length, ..._on_error = 0)."""
    pg = server["pg"]
    conn = as_role(server, "payment_processor")
    conn.run("INSERT INTO payments.payments (pan_token, amount_cents) SELECT :pan, 1999 FROM pg_sleep(1.1)", pan=PAN)
    with pytest.raises(Exception, match="division by zero"):
        conn.run("SELECT 1 / 0 WHERE CAST(:pan AS text) IS NOT NULL", pan=PAN)
    conn.close()
    deadline = time.monotonic() + 10
    while "AUDIT: OBJECT" not in pg.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = pg.log()
    assert "AUDIT: SESSION" in log and ",ROLE,CREATE ROLE," in log  # the role manager's changes
    assert ",DDL,CREATE TABLE," in log  # the migration's
    object_lines = [line for line in log.splitlines() if "AUDIT: OBJECT" in line and "payments.payments" in line]
    assert any(",WRITE,INSERT,TABLE,payments.payments," in line for line in object_lines), object_lines
    assert "duration:" in log  # the slow statement was logged ...
    assert "division by zero" in log  # ... and so was the error
    assert PAN not in log  # ... without the card number
    for line in log.splitlines():
        assert "parameters: $1" not in line, line


# ------------------------------------------------------------------------------------------------------
# The role manager
# ------------------------------------------------------------------------------------------------------


def test_the_packaged_role_manager_creates_every_role_and_a_second_run_does_nothing(server, managed):
    first, second = managed["first"], managed["second"]
    assert first["changed"] is True and first["notes"] == []
    statements = first["statements"]
    for role in REVIEWED_ACCESS:
        assert f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS' in statements
        assert f'GRANT "rds_iam" TO "{role}"' in statements
    assert 'CREATE ROLE "rds_pgaudit" NOLOGIN' in statements
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE "globalpay" FROM PUBLIC' in statements
    assert not any("PASSWORD" in s for s in statements)
    assert second == {"changed": False, "statements": [], "notes": []}
    conn = server["pg"].connect(SUPERUSER, DATABASE)
    rows = conn.run(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
        " ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1)"
        " FROM pg_roles r WHERE rolname = ANY(CAST(:names AS text[])) ORDER BY 1", names=list(REVIEWED_ACCESS))
    conn.close()
    assert rows == [[role, True, False, False, False, False, False, ["rds_iam"]] for role in sorted(REVIEWED_ACCESS)]


def test_each_service_can_do_exactly_its_reviewed_grants(server, managed):
    """Every service role against every table and sequence of every schema, and the things no service may do."""
    tables = {"gateway": "api_clients", "payments": "payments", "reconciliation": "ledger"}
    statements = {
        "SELECT": "SELECT * FROM {t}",
        "INSERT": "INSERT INTO {t} DEFAULT VALUES",
        "UPDATE": "UPDATE {t} SET id = id",
        "DELETE": "DELETE FROM {t}",
    }
    for role, reviewed in REVIEWED_ACCESS.items():
        conn = as_role(server, role)
        try:
            for schema, table in tables.items():
                for privilege, sql in statements.items():
                    expected = privilege in reviewed.get(schema, set())
                    assert allowed(conn, sql.format(t=f"{schema}.{table}")) is expected, (role, schema, privilege)
                assert not allowed(conn, f"TRUNCATE {schema}.{table}"), (role, schema)
                assert not allowed(conn, f"CREATE TABLE {schema}.intruder (id int)"), (role, schema)
            assert not allowed(conn, "CREATE TABLE public.intruder (id int)")
            assert not allowed(conn, "CREATE TEMPORARY TABLE intruder (id int)")
            assert not allowed(conn, "CREATE SCHEMA intruder")
            assert not allowed(conn, "CREATE ROLE intruder")
            assert not allowed(conn, "SET ROLE globalpay_owner")
            assert not allowed(conn, "SET ROLE rds_pgaudit")
        finally:
            conn.close()


def test_privileges_granted_by_hand_are_revoked_on_the_next_run(server, managed):
    """Someone widens a grant by hand (DELETE on cardholder data, membership in the owner role, TRUNCATE): the
    next run takes it back, and says so."""
    admin = admin_connection(server)
    admin.run("SET ROLE globalpay_owner")
    admin.run("GRANT DELETE, TRUNCATE ON payments.payments TO payment_processor")
    admin.run("RESET ROLE")
    admin.run("GRANT globalpay_owner TO payment_processor")
    plan = postgres_roles.Plan.from_json(managed["plan"])
    result = postgres_roles.converge(admin, plan)
    admin.close()
    assert 'REVOKE DELETE, TRUNCATE ON TABLE "payments"."payments" FROM "payment_processor"' in result.statements
    assert 'REVOKE "globalpay_owner" FROM "payment_processor"' in result.statements
    conn = as_role(server, "payment_processor")
    assert not allowed(conn, "DELETE FROM payments.payments")
    conn.close()


def test_a_removed_service_loses_its_role_and_other_roles_are_left_alone(server, managed):
    admin = admin_connection(server)
    admin.run("CREATE ROLE analyst NOLOGIN")  # created by hand: never the role manager's to drop
    reduced = _plan({"workloads": {"services": [
        {"name": "api-gateway"}, {"name": "payment-processor"},
        {"name": "reconciliation-engine", "access": {"database_grants": {}}},
    ]}})
    try:
        result = postgres_roles.converge(admin, reduced)
        assert 'DROP ROLE "reconciliation_engine"' in result.statements
        names = {row[0] for row in admin.run("SELECT rolname FROM pg_roles")}
        assert "reconciliation_engine" not in names and {"analyst", "api_gateway", "payment_processor"} <= names
        with pytest.raises(Exception, match="does not exist"):
            as_role(server, "reconciliation_engine")
    finally:
        postgres_roles.converge(admin, postgres_roles.Plan.from_json(managed["plan"]))
        admin.run("DROP ROLE analyst")
        admin.close()


def test_a_superuser_run_creates_the_pgaudit_extension(server, managed):
    """On RDS the master user may create pgaudit (rds_superuser); here only a superuser can: the first run on a
    database without the extension creates it."""
    boot = server["pg"].connect(SUPERUSER, "postgres")
    boot.run(f"CREATE DATABASE fresh OWNER {ADMIN}")
    boot.close()
    conn = server["pg"].connect(SUPERUSER, "fresh")
    try:
        result = postgres_roles.converge(conn, postgres_roles.Plan.from_json(managed["plan"]))
        assert result.statements[0] == "CREATE EXTENSION pgaudit"
        assert conn.run("SELECT extname FROM pg_extension WHERE extname = 'pgaudit'") == [["pgaudit"]]
    finally:
        conn.close()
        boot = server["pg"].connect(SUPERUSER, "postgres")
        boot.run("DROP DATABASE fresh")
        boot.close()


def test_a_removed_service_with_privileges_in_another_database_is_locked_out_not_dropped(server, managed):
    """DROP OWNED reaches one database only: a role granted something elsewhere cannot be dropped. The run still
    succeeds, the role can no longer log in, the note says why, and the next run repeats nothing."""
    admin = admin_connection(server)
    admin.run("CREATE DATABASE elsewhere")
    other = server["pg"].connect(SUPERUSER, "elsewhere")
    other.run("CREATE TABLE notes (id int)")
    other.run("GRANT SELECT ON notes TO payment_processor")
    other.close()
    reduced = _plan({"workloads": {"services": [
        {"name": "api-gateway"}, {"name": "payment-processor", "access": {"database_grants": {}}},
        {"name": "reconciliation-engine"},
    ]}})
    try:
        first = postgres_roles.converge(admin, reduced)
        assert 'ALTER ROLE "payment_processor" NOLOGIN' in first.statements
        assert 'DROP ROLE "payment_processor"' not in first.statements
        assert any(n.startswith("role payment_processor is no longer planned") for n in first.notes), first.notes
        with pytest.raises(Exception, match="not permitted to log in"):
            as_role(server, "payment_processor")
        assert postgres_roles.converge(admin, reduced).statements == []
    finally:
        admin.run("DROP DATABASE elsewhere")
        restored = postgres_roles.converge(admin, postgres_roles.Plan.from_json(managed["plan"]))
        admin.close()
    assert 'ALTER ROLE "payment_processor" LOGIN' in restored.statements


def test_after_a_failover_the_promoted_replica_already_has_the_roles(server, managed):
    """A streaming standby of the writer (what the DR region's replica is), promoted: the role manager's first run
    there changes nothing, and a change of plan applies there like on the original writer."""
    pg = server["pg"]
    standby_dir = pg.base_backup("standby")
    standby = PostgresServer(settings=pg.settings, data_dir=standby_dir, base=pg.base)
    try:
        standby.start()
        boot = standby.connect(SUPERUSER, "postgres")
        assert boot.run("SELECT pg_is_in_recovery()") == [[True]]
        assert boot.run("SELECT pg_promote(true, 60)") == [[True]]
        boot.close()
        conn = standby.connect(ADMIN, DATABASE, password=ADMIN_PASSWORD,
                               ssl_context=postgres_roles.tls_context(server["ca"]))
        plan = postgres_roles.Plan.from_json(managed["plan"])
        assert postgres_roles.converge(conn, plan).statements == []
        reduced = _plan({"workloads": {"services": [
            {"name": "api-gateway", "access": {"database_grants": {}}},
            {"name": "payment-processor"}, {"name": "reconciliation-engine"},
        ]}})
        assert 'DROP ROLE "api_gateway"' in postgres_roles.converge(conn, reduced).statements
        conn.close()
    finally:
        standby.cleanup()


# ------------------------------------------------------------------------------------------------------
# The plan and the package
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, message", [
    ({"roles": {"rds_iam": {}}}, "may not be named"),
    ({"roles": {"x": {"nowhere": ["SELECT"]}}}, "not in the plan's schemas"),
    ({"roles": {"x": {"payments": ["ALL"]}}}, "privileges are a list"),
    ({"roles": {'x"; DROP ROLE y; --': {}}}, "not a plain lower-case identifier"),
    ({"schemas": ["public", "payments"], "audited_schemas": [], "roles": {}}, "public or a system schema"),
])
def test_a_malformed_plan_runs_nothing(bad, message):
    plan = {**database_plan(load_config("prod", REGION_SPECS)), **bad}
    with pytest.raises(postgres_roles.PlanError, match=message):
        postgres_roles.Plan.from_json(plan)


def test_the_package_is_byte_identical_and_holds_the_driver_with_everything_it_needs():
    role_manager.package_bytes.cache_clear()
    first = role_manager.package_bytes()
    role_manager.package_bytes.cache_clear()
    assert role_manager.package_bytes() == first
    names = zipfile.ZipFile(role_manager.package_file()[0]).namelist()
    assert {"postgres_roles.py", "rds-ca-rsa2048-g1.pem", "pg8000/native.py", "scramp/core.py"} <= set(names)
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n or n.endswith("/RECORD")]
    # The packaged distributions are closed under their requirements (extras aside).
    packaged = {n.lower().replace("_", "-") for n in role_manager.PACKAGED_DISTRIBUTIONS}
    for name in role_manager.PACKAGED_DISTRIBUTIONS:
        for requirement in metadata.requires(name) or ():
            if "extra ==" in requirement:
                continue
            dependency = requirement.split(";")[0].split("[")[0].strip()
            dependency = dependency.split("=")[0].split(">")[0].split("<")[0].split("!")[0].split("~")[0].strip()
            assert dependency.lower().replace("_", "-") in packaged, (name, requirement)


def test_the_trusted_rds_roots_cover_every_region_and_the_pinned_authority(prod):
    """verify-full against AWS's roots of the authority every instance is pinned to: one per region we run in."""
    text = postgres_roles.CA_BUNDLE.read_text()
    for region in REGION_SPECS:
        assert f"# Amazon RDS {region} Root CA RSA2048 G1\n-----BEGIN CERTIFICATE-----" in text, region
    for name in (US, "globalpay-prod-eu-west-1"):
        for instance in prod[name]["resource"]["aws_db_instance"].values():
            assert instance["ca_cert_identifier"] == "rds-ca-rsa2048-g1"


def test_servers_refuse_to_start_without_their_packages(monkeypatch):
    """The install step's promise, seen from the tests: a missing server binary is one clear error."""
    monkeypatch.setattr("tests.servers.POSTGRES_BIN", Path("/nonexistent/postgresql/15/bin"))
    with pytest.raises(ServerError, match=r"tasks\.py install"):
        PostgresServer()
