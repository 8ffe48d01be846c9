"""The services' ElastiCache access strings, loaded into a real Redis 7 server (tests/servers.py).

The access strings are read from the synthesized prod JSON (the ``aws_elasticache_user`` resources of a core
stack), so what is tested is what Terraform would create. Each becomes a user of the test server with a test
password (ElastiCache authenticates with IAM tokens instead; the rules are the same ACL engine).

``REVIEWED_COMMANDS`` is the reviewed contract, written here and not read from the configuration: the command
rules each service may have. The server itself says which commands each user may run (``ACL DRYRUN`` of every
command and subcommand it knows); a reference user built from the reviewed rules must come out identical, so
widening a service's commands (in the configuration or in ``constructs_lib/access.py``) fails
``test_each_service_may_run_exactly_its_reviewed_commands`` until the contract is reviewed too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from constructs_lib.access import DEFAULT_USER_ACCESS_STRING
from tests.servers import RedisClient, RedisError, RedisServer
from tests.synth import resources

US = "globalpay-prod-us-east-1"
PASSWORD = "test-only-password"
#: The reviewed contract: each service's own command rules (before the platform's fixed removals and additions).
REVIEWED_COMMANDS = {
    "api-gateway": ("+@read", "+@write", "+@transaction", "+eval", "+evalsha", "+script|load", "+script|exists"),
    "payment-processor": ("+@read", "+@write", "+@transaction"),
    "reconciliation-engine": ("+@read", "+@write", "+@transaction"),
}
#: Removed from every service and added to every service, as reviewed (constructs_lib/access.py says why).
REVIEWED_REMOVED = ("-@dangerous", "-function", "-scan", "-randomkey")
REVIEWED_CLIENT = ("+ping", "+echo", "+quit", "+hello", "+info", "+client|setname", "+client|getname", "+client|id",
                   "+client|info")


@pytest.fixture(scope="module")
def redis(prod) -> Iterator[dict[str, Any]]:
    users = {cfg["user_name"]: cfg["access_string"] for cfg in resources(prod[US], "aws_elasticache_user").values()}
    server = RedisServer()
    try:
        server.start()
        admin = RedisClient(server.port)
        # The test's own administrator first: switching the default user off locks out unauthenticated clients.
        admin.command("ACL", "SETUSER", "admin", "on", f">{PASSWORD}", "~*", "&*", "+@all")
        admin.command("AUTH", "admin", PASSWORD)
        for name, access in users.items():
            admin.command("ACL", "SETUSER", name, *access.split(), *(() if name == "default" else (f">{PASSWORD}",)))
        yield {"server": server, "admin": admin, "users": users}
        admin.close()
    finally:
        server.cleanup()


def login(redis: dict[str, Any], service: str) -> RedisClient:
    client = RedisClient(redis["server"].port)
    client.command("AUTH", f"globalpay-prod-{service}", PASSWORD)
    return client


def refused(client: RedisClient, *command: str) -> bool:
    try:
        client.command(*command)
    except RedisError as exc:
        if exc.args[0].startswith(("NOPERM", "ERR The user executing the script")):
            return True
        raise
    return False


def command_table(admin: RedisClient) -> dict[str, tuple[int, list[int]]]:
    """``{name or container|sub: (arity, key positions)}`` of every command the server knows (COMMAND INFO)."""
    table: dict[str, tuple[int, list[int]]] = {}
    for info in admin.command("COMMAND", "INFO", *admin.command("COMMAND", "LIST")):
        name, arity, first_key = info[0], info[1], info[3]
        table[name] = (arity, [first_key] if first_key else [])
        for sub in (info[9] if len(info) > 9 else []) or []:
            table[sub[0]] = (sub[1], [sub[3]] if sub[3] else [])
    return table


def runnable(admin: RedisClient, user: str, table: dict[str, tuple[int, list[int]]], prefix: str) -> set[str]:
    """The commands ``user`` may run, per ``ACL DRYRUN`` with the fewest arguments the command takes, each one
    the user's own key (or channel). DRYRUN answers OK or why not; a command whose arguments it cannot parse
    this way (an error reply) is left out, for every user alike."""
    allowed = set()
    for name, (arity, _) in sorted(table.items()):
        words = name.split("|")
        args = [f"{prefix}k"] * max(abs(arity) - len(words), 0)
        try:
            reply = admin.command("ACL", "DRYRUN", user, *words, *args)
        except RedisError:
            continue
        if reply == "OK":
            allowed.add(name)
    return allowed


def test_the_default_user_is_off_and_every_service_has_its_own_user(redis):
    assert redis["users"]["default"] == DEFAULT_USER_ACCESS_STRING
    assert sorted(redis["users"]) == ["default", *(f"globalpay-prod-{s}" for s in sorted(REVIEWED_COMMANDS))]
    anonymous = RedisClient(redis["server"].port)
    with pytest.raises(RedisError, match="NOAUTH"):
        anonymous.command("PING")
    anonymous.close()


@pytest.mark.parametrize("service", sorted(REVIEWED_COMMANDS))
def test_each_service_may_run_exactly_its_reviewed_commands(redis, service):
    admin = redis["admin"]
    table = command_table(admin)
    prefix = f"{service}:"
    reference = f"reviewed-{service}"
    admin.command("ACL", "SETUSER", reference, "reset", "on", "nopass", f"~{prefix}*", f"&{prefix}*", "-@all",
                  *REVIEWED_COMMANDS[service], *REVIEWED_REMOVED, *REVIEWED_CLIENT)
    actual = runnable(admin, f"globalpay-prod-{service}", table, prefix)
    expected = runnable(admin, reference, table, prefix)
    assert {"get", "set", "hset", "del", "multi", "exec", "ping", "info", "client|setname"} <= actual  # not vacuous
    assert actual == expected, {"not reviewed": sorted(actual - expected), "missing": sorted(expected - actual)}
    # What must never be among them, whatever the review says.
    forbidden = {"flushall", "flushdb", "keys", "config|get", "config|set", "debug", "shutdown", "monitor",
                 "acl|setuser", "acl|list", "scan", "randomkey", "function|flush", "swapdb", "client|kill",
                 "client|list", "migrate", "select", "save", "bgsave", "replicaof", "module|load"}
    assert not actual & forbidden, sorted(actual & forbidden)


@pytest.mark.parametrize("service", sorted(REVIEWED_COMMANDS))
def test_each_service_works_on_its_own_keys_and_nowhere_else(redis, service):
    client = login(redis, service)
    own, others = f"{service}:", [f"{s}:" for s in REVIEWED_COMMANDS if s != service]
    try:
        # What clients do on every connection, and the service's own data.
        assert client.command("PING") == "PONG"
        assert "redis_version" in client.command("INFO", "server")  # ioredis' ready check
        assert client.command("CLIENT", "SETNAME", service) == "OK"
        assert client.command("SET", f"{own}k", "v") == "OK"
        assert client.command("GET", f"{own}k") == "v"
        assert client.command("HSET", f"{own}h", "f", "1") == 1
        assert client.command("EXPIRE", f"{own}k", "60") == 1
        assert client.command("MULTI") == "OK"
        client.command("INCR", f"{own}counter")
        assert client.command("EXEC") == [1]
        assert client.command("DEL", f"{own}k", f"{own}h", f"{own}counter") == 3
        # Everything the issue lists as refused, and the other services' keys and channels.
        for command in (("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "GET", "*"), ("KEYS", "*"), ("KEYS", f"{own}*"),
                        ("SCAN", "0"), ("RANDOMKEY",), ("FUNCTION", "FLUSH"), ("CLIENT", "LIST"),
                        ("ACL", "LIST"), ("SELECT", "1"), ("PUBLISH", f"{own}c", "x")):
            assert refused(client, *command), command
        for prefix in others:
            assert refused(client, "GET", f"{prefix}k")
            assert refused(client, "SET", f"{prefix}k", "v")
            assert refused(client, "DEL", f"{prefix}k")
            assert refused(client, "RENAME", f"{own}k", f"{prefix}k")
        if "+eval" in REVIEWED_COMMANDS[service]:
            assert client.command("EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", f"{own}s") == "OK"
            # A script runs with the caller's permissions: no way around the key patterns or FLUSHALL.
            assert refused(client, "EVAL", "return redis.call('GET', KEYS[1])", "1", f"{others[0]}k")
            assert refused(client, "EVAL", f"return redis.call('GET', '{others[0]}k')", "0")
            assert refused(client, "EVAL", "return redis.call('FLUSHALL')", "0")
        else:
            assert refused(client, "EVAL", "return 1", "0")
    finally:
        client.close()
