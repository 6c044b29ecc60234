"""Credentials (Aurora master passwords, ElastiCache users, Secrets Manager secret strings): P14.

Generated, never plaintext; cache access through RBAC users; Aurora master secrets replicated to the regions
of their global cluster's secondaries. Kept apart from kms_secrets.py (the KMS and Secrets Manager resource
rules) because it relates the program's credential inputs across services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    MISSING,
    Meta,
    StackRule,
    dependencies,
)
from guardrails.stack_reads import (
    CACHE_USER,
    CLUSTER,
    RANDOM_PASSWORD,
    REPLICATION_GROUP,
    SECRET,
    SECRET_VERSION,
    STACK_REFERENCE,
    UNKNOWN,
    Finding,
    Reader,
    global_id,
    global_members,
    is_primary,
    of_type,
    stable,
)

# ------------------------------------------------------------------------------------ P14 credentials

# The credential inputs the program creates: (type, path, how the value relates to a generated password).
# "is": the value is the password itself; "embeds": a document (JSON) that carries it. A mapping at the path
# (ElastiCache authenticationMode) is read at its "passwords" list.
_CREDENTIALS = (
    (CLUSTER, "masterPassword", "is"),
    (CLUSTER, "masterPasswordWo", "is"),
    (CACHE_USER, "passwords", "is"),
    (CACHE_USER, "authenticationMode", "is"),
    (SECRET_VERSION, "secretString", "embeds"),
)
# A cluster restored from a snapshot takes its master user from the snapshot.
_MASTER_SOURCES = ("masterPassword", "masterPasswordWo", "snapshotIdentifier")


def _credential_values(read: Reader, resource: Any, path: str) -> list[tuple[str, Any]]:
    """[(path, value)] of the credential strings at path; unknown and absent values are left out.

    An unknown value (during preview) is an output of another resource, i.e. computed, never typed in.
    """
    value = read.peek(resource, path)
    if isinstance(value, Mapping):
        return _credential_values(read, resource, f"{path}.passwords")
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Sequence):
        return [(f"{path}.{i}", v) for i, v in enumerate(value) if isinstance(v, str)]
    return []


def _derived_from_random(resource: Any, path: str) -> bool:
    """Whether the engine says the property's value came from a RandomPassword; True when it says nothing.

    Where values are masked (the offline plan shows every secret as "[secret]"), comparing values proves
    nothing; the engine's property dependencies still name the resource a value was computed from, and a
    literal has none. Hand-built args without dependencies fall back to the value comparison alone.
    """
    dependencies = getattr(resource, "property_dependencies", None) or {}
    if not dependencies:
        return True
    return any(d.resource_type == RANDOM_PASSWORD for d in dependencies.get(path.split(".", 1)[0], []))


def _pending_random(read: Reader, resource: Any, path: str) -> bool:
    """Whether the engine says the value came from a RandomPassword whose result is not known yet.

    In a stack's first preview the RandomPassword does not exist, so its result is unknown (or absent) and
    the credential shows masked; the dependency, not the value, then says it is generated. A literal has no
    such dependency, so it still fails.
    """
    return any(not isinstance(read.peek(d, "result"), str)
               for d in dependencies(resource, path, RANDOM_PASSWORD))


def _read_from_stack(resource: Any, path: str) -> bool:
    """Whether the engine says the value came from another stack's outputs (a StackReference).

    The platform splits each environment into stacks: a credential generated in one (the global stack's
    logins, an infra stack's master passwords) reaches another as that stack's secret output, and this rule
    checks its generation in the stack that makes it.
    """
    dependencies = getattr(resource, "property_dependencies", None) or {}
    return any(d.resource_type == STACK_REFERENCE for d in dependencies.get(path.split(".", 1)[0], []))


def _plaintext_credentials(read: Reader, resources: Sequence[Any]) -> list[Finding]:
    """Credentials that are not a random.RandomPassword result of the stack (or do not embed one).

    Python CrossGuard cannot see whether a value is a Pulumi secret: the policy server unwraps secrets before
    validation, and pulumi_aws marks these inputs secret itself, so even a literal is a secret in state. What
    the pack can check is provenance: a generated password reaches every policy as the same value as its
    RandomPassword's ``result`` (plaintext in `pulumi preview`, "[secret]" in the offline plan); a literal
    or config value does not. Values are compared, never shown.
    """
    generated = {v for r in of_type(resources, RANDOM_PASSWORD)
                 if isinstance(v := read.peek(r, "result"), str) and v}
    found: list[Finding] = []
    for resource_type, path, relation in _CREDENTIALS:
        for r in of_type(resources, resource_type):
            for where, value in _credential_values(read, r, path):
                if _read_from_stack(r, path):
                    continue
                pending = _pending_random(read, r, path)
                if relation == "is" and ((value not in generated and not pending)
                                         or not _derived_from_random(r, path)):
                    found.append((f"{r.name}: {where} is a plaintext value, not a random.RandomPassword result; "
                                  "generate the credential in the stack so it stays a Pulumi secret", r.urn))
                elif relation == "embeds" and ((not any(g in value for g in generated) and not pending)
                                               or not _derived_from_random(r, path)):
                    found.append((f"{r.name}: {where} holds no random.RandomPassword result; build the secret "
                                  "from a generated password, never a plaintext value", r.urn))
    for cluster in of_type(resources, CLUSTER):
        username = read.peek(cluster, "masterUsername")  # only a primary (or standalone) cluster has one
        if not isinstance(username, str) or not username or read.peek(cluster, "manageMasterUserPassword") is True:
            continue
        if all(read.peek(cluster, p) is MISSING for p in _MASTER_SOURCES):
            found.append((f"{cluster.name}: masterUsername is set but masterPassword is not; set it from a "
                          "random.RandomPassword result (manageMasterUserPassword does not work on global "
                          "clusters)", cluster.urn))
    return found


def _credentials(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P14. At the first preview a RandomPassword's result is unknown: a credential that depends on it is
    generated (``_pending_random``); one that does not is still plaintext."""
    read = Reader()
    found: list[Finding] = _plaintext_credentials(read, resources)
    for rg in of_type(resources, REPLICATION_GROUP):
        token = read(rg, "authToken")
        if token is not MISSING and token is not UNKNOWN:
            found.append((f"{rg.name}: authToken is set; use userGroupIds (RBAC users) instead of a shared AUTH "
                          "token", rg.urn))
        users = read(rg, "userGroupIds")
        if users is MISSING or (users is not UNKNOWN and not len(users)):
            found.append((f"{rg.name}: userGroupIds is not set; Valkey/Redis access must go through RBAC user "
                          "groups", rg.urn))
    # shard group -> the regions of its global cluster's secondaries
    members = {gid: ms for _, gid, ms in global_members(read, resources)}
    secondaries: dict[str, set[str]] = defaultdict(set)
    groups_seen: set[str] = set()
    for cluster in of_type(resources, CLUSTER):
        group = read(cluster, "tags.shard-group")
        if not isinstance(group, str):
            continue
        groups_seen.add(group)
        for member in members.get(global_id(read, cluster), []):
            region = read.region(member)
            if is_primary(read, member) is False and isinstance(region, str):
                secondaries[group].add(region)
    for secret in of_type(resources, SECRET):
        name = read(secret, "name")
        parts = name.split("/") if isinstance(name, str) else []
        if len(parts) != 4 or parts[1] != "aurora" or parts[3] != "master":
            continue
        group = parts[2]
        if group not in groups_seen:
            found.append((f"{secret.name}: no Aurora cluster has tags.shard-group {group}; the regions {name} must "
                          "replicate to cannot be determined", secret.urn))
            continue
        replicas = {r.get("region") for r in read.items(secret, "replicas") if isinstance(r, Mapping)}
        missing = sorted(secondaries[group] - replicas)
        if missing:
            found.append((f"{secret.name}: {name} has no replicas entry for {', '.join(missing)}, where the global "
                          f"cluster of {group} has secondaries", secret.urn))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P14", "platform-credentials", "Credentials are generated, never plaintext; cache access uses RBAC "
             "users; Aurora master secrets follow their DR regions", Severity.HIGH, mandatory=True,
             remediation="Set Aurora master passwords, ElastiCache user passwords and Secrets Manager secret "
                         "strings from random.RandomPassword results (never a literal or a config value), use "
                         "user_group_ids instead of auth_token, and replicate each <env>/aurora/<group>/master "
                         "secret to every region holding a secondary of that group's global cluster."),
        stable(_credentials)),
]
