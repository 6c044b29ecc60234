"""KMS keys, Secrets Manager secrets and the IAM policies that may decrypt with them: the S rows of docs/guardrails.md.

Rows not implemented:
  S11  rotation within 90 days is S10's period check (maxRotationDays), for both forms of rotation.
  S5   only its IaC proxy (deletion window 30 days, prod) is here; `protect` on prod keys is platform rule P8's.
  n/a  SecretsManager.2/.3 (rotation succeeded, unused secret) are runtime-only.
Secret versions carry only the secret value (masked in the plan); no row applies to them.
S12 (secret not public) is not in the brief's mandatory list, but it is the secrets twin of S2 and is enforced
the same way: an Allow to Principal "*" needs a Condition.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Meta,
    ResourceRule,
    Rule,
    StackRule,
    check,
    dependencies,
    dependency,
    equals,
    get,
    is_true,
    present,
)
from guardrails.network import items, of_type, references
from guardrails.stack_reads import (
    KMS_KEY,
    UNKNOWN,
    Finding,
    Reader,
    stable,
)

KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY_TYPES = (ROLE_POLICY, "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy")
ROLE = "aws:iam/role:Role"  # its inlinePolicies[*].policy

# Any key of any account and region: a Resource pattern matching it grants every key.
_ANY_KEY_ARN = "arn:aws:kms:zz-nowhere-9:000000000000:key/00000000-0000-0000-0000-000000000000"
_DECRYPT_ACTIONS = ("kms:decrypt", "kms:reencryptfrom")
_AWS_MANAGED_ALIAS = re.compile(r"(^|:)alias/aws/")


# --- policy documents -----------------------------------------------------------------------------------


def policy_document(value: Any) -> Mapping[str, Any] | None:
    """A policy as a mapping (JSON strings parsed); None when it is not a policy document."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def as_list(value: Any) -> list[Any]:
    if value is None or value is MISSING:
        return []
    return [value] if isinstance(value, str | Mapping) else items(value)


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and any("*" in as_list(v) for v in principal.values())


def public_statements(policy: Any, path: str) -> list[str]:
    """Failures for Allow statements open to everyone (Principal "*", or NotPrincipal) without a Condition."""
    document = policy_document(policy)
    if document is None:
        return [f"{path} must be a JSON policy document (got {str(policy)[:40]!r})"]
    found = []
    for i, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if "NotPrincipal" in statement:
            found.append(f"{path}.Statement.{i} must not Allow with NotPrincipal (got NotPrincipal "
                         f"{statement['NotPrincipal']!r})")
        elif _everyone(statement.get("Principal")):
            found.append(f"{path}.Statement.{i} must not allow Principal \"*\" without a Condition "
                         f"(got Principal {statement.get('Principal')!r})")
    return found


def _policy_not_public(props: Any, args: ResourceValidationArgs) -> list[str]:
    policy = get(props, "policy")
    return [] if policy is MISSING else public_statements(policy, "policy")


def _grants_decrypt(statement: Mapping[str, Any]) -> list[str]:
    """The decrypt actions an Allow statement grants (NotAction counts as everything it does not name)."""
    if "NotAction" in statement:
        excluded = [str(a).lower() for a in as_list(statement.get("NotAction"))]
        return [a for a in _DECRYPT_ACTIONS if not any(fnmatch.fnmatchcase(a, p) for p in excluded)]
    patterns = [str(a).lower() for a in as_list(statement.get("Action"))]
    return [a for a in _DECRYPT_ACTIONS if any(fnmatch.fnmatchcase(a, p) for p in patterns)]


def _every_key(statement: Mapping[str, Any]) -> bool:
    if "NotResource" in statement:
        return True
    return any(r == "*" or fnmatch.fnmatchcase(_ANY_KEY_ARN, str(r)) for r in as_list(statement.get("Resource")))


def decrypt_everywhere(policy: Any, path: str) -> list[str]:
    document = policy_document(policy)
    if document is None:
        return [f"{path} must be a JSON policy document (got {str(policy)[:40]!r})"]
    found = []
    for i, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow" or not _every_key(statement):
            continue
        granted = _grants_decrypt(statement)
        if granted:
            actions = statement.get("Action", statement.get("NotAction"))
            found.append(f"{path}.Statement.{i} must not allow kms:Decrypt or kms:ReEncryptFrom on every key "
                         f"(got Action {actions!r} on Resource {statement.get('Resource', '*')!r})")
    return found


def _whole_policy(props: Any) -> Any:
    """``props.policy``; None when the whole document is unknown during preview (see S8's docstring)."""
    try:
        return get(props, "policy")
    except UnknownValueError:
        return None


def _iam_decrypt(props: Any, args: ResourceValidationArgs) -> list[str]:
    """S8 checks each policy document where it is known.

    A document the program builds from ARNs only known after apply (the region's KMS keys, the MSK cluster's
    ARN with its UUID, subnet ids) is one JSON string, and during a first preview it is unknown as a whole:
    nothing in the plan says what it will grant, and no property of another resource settles it. Such a
    document is checked once known: `pulumi up` runs this rule on the resource's inputs when it registers,
    after the resources it is built from exist and before AWS creates it, so a Decrypt on "*" still refuses the
    update. A document the plan does show (a JSON string, or a mapping) is checked now, and a mapping with an
    unknown member still fails closed, since an unknown could stand where a literal "*" would be.
    """
    if args.resource_type == ROLE:
        found = []
        for i, inline in enumerate(items(get(props, "inlinePolicies"))):
            policy = _whole_policy(inline)
            if policy not in (MISSING, None):
                found.extend(decrypt_everywhere(policy, f"inlinePolicies.{i}.policy"))
        return found
    policy = _whole_policy(props)
    return [] if policy in (MISSING, None) else decrypt_everywhere(policy, "policy")


# --- secrets --------------------------------------------------------------------------------------------


def customer_managed(key: Any) -> bool:
    return isinstance(key, str) and key.strip() != "" and not _AWS_MANAGED_ALIAS.search(key)


_CMK = "must be a customer managed KMS key (not alias/aws/...)"
# S9 during a first preview: a kmsKeyId computed from another resource's output (the region's secrets key's ARN)
# is unknown. It is set, and it cannot be an AWS managed alias: those are typed-in names (alias/aws/...), known in
# every plan, and no resource can output one (AWS refuses to create aliases under alias/aws/). So an unknown key
# passes, as core.present() lets presence checks accept it; a literal is checked in every plan.


def _replica_keys(props: Any, args: ResourceValidationArgs) -> list[str]:
    found = []
    for i, replica in enumerate(items(get(props, "replicas"))):
        try:
            key = get(replica, "kmsKeyId")
        except UnknownValueError:
            continue  # an output of another resource (a key's ARN): see the note at _CMK
        if key is MISSING:
            found.append(f"replicas.{i}.kmsKeyId is not set; it {_CMK}")
        elif not customer_managed(key):
            found.append(f"replicas.{i}.kmsKeyId {_CMK} (got {key!r})")
    return found


SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
ROTATING = "time:index/rotating:Rotating"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
MAX_ROTATION_DAYS_KEY = "maxRotationDays"
DEFAULT_MAX_ROTATION_DAYS = 90  # SecretsManager.4
_RATE = re.compile(r"^rate\((\d+) days?\)$")


def _days(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _rotation_period(rotation: Any) -> tuple[int | None, str]:
    """(days, how it was read) of a SecretRotation's schedule; days None when it states no period in days."""
    if get(rotation.props, "rotationEnabled") is False:
        return None, "has rotation disabled"
    rules = get(rotation.props, "rotationRules")
    days = _days(get(rules, "automaticallyAfterDays")) if rules is not MISSING else None
    if days is not None:
        return days, f"automaticallyAfterDays {days}"
    expression = get(rules, "scheduleExpression") if rules is not MISSING else MISSING
    if isinstance(expression, str):
        rate = _RATE.match(expression.strip())
        if rate:
            return int(rate.group(1)), expression
        if expression.strip().startswith("cron("):
            return 0, expression  # a cron schedule runs at least yearly; SecretsManager.4 accepts it too
    return None, "states no automaticallyAfterDays or scheduleExpression"


def _secret_rotation(secret: Any, rotations: Sequence[Any], limit: int) -> str | None:
    """None when a SecretRotation rotates ``secret`` often enough; else why not ("" when none names it)."""
    why = ""
    for rotation in rotations:
        if not references(rotation, "secretId", secret, keys=("id", "arn")):
            continue
        days, read = _rotation_period(rotation)
        if days is not None and days <= limit:
            return None
        why = f"{rotation.name} {read}" if days is None else \
            f"{rotation.name} rotates it {read}, not within {limit} days"
    return why


def _program_rotation(secret: Any, versions: Sequence[Any], limit: int) -> str | None:
    """None when the secret's value comes from a password the program rotates often enough; else why not.

    Same stack: the version's secretString derives from a RandomPassword whose keepers derive from a
    pulumiverse-time Rotating of at most ``limit`` days. Another stack (a login made once for the environment):
    the secret's tags say ``rotation: program``, ``rotation-days`` (at most ``limit``) and ``rotated-in``, and
    the value comes from a StackReference to that stack, where this rule checks the Rotating.
    """
    why = ""
    tags = get(secret.props, "tags")
    for version in versions:
        if not references(version, "secretId", secret, keys=("id", "arn")):
            continue
        for password in dependencies(version, "secretString", RANDOM_PASSWORD):
            for keeper in dependencies(password, "keepers", ROTATING):
                days = _days(get(keeper.props, "rotationDays"))
                if days is not None and days <= limit:
                    return None
                why = f"its password's keeper {keeper.name} rotates every {days} days, not within {limit}"
        rotated_in = MISSING if tags is MISSING else get(tags, "rotated-in")
        declared = MISSING if tags is MISSING else get(tags, "rotation-days")
        if isinstance(rotated_in, str) and rotated_in:
            sources = dependencies(version, "secretString", STACK_REFERENCE)
            if not any(str(get(ref.props, "name")).endswith(f"/{rotated_in}") for ref in sources):
                why = f"its tags say it rotates in {rotated_in}, but its value does not come from that stack"
            elif not (isinstance(declared, str) and declared.isdigit() and int(declared) <= limit):
                why = f"its rotation-days tag must be at most {limit} (got {declared!r})"
            else:
                return None
    return why


def _rotation(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """S10: every secret rotates, through Secrets Manager or through the program, within the period."""
    limit = int(config.get(MAX_ROTATION_DAYS_KEY) or DEFAULT_MAX_ROTATION_DAYS)
    rotations, versions = of_type(resources, SECRET_ROTATION), of_type(resources, SECRET_VERSION)
    found: list[tuple[str, str | None]] = []
    for secret in of_type(resources, SECRET):
        try:
            managed = _secret_rotation(secret, rotations, limit)
            program = _program_rotation(secret, versions, limit) if managed is not None else None
        except UnknownValueError:
            continue  # advisory: a secret this preview cannot match yet is skipped, not the whole stack
        if managed is None or program is None:
            continue
        reason = managed or program or f"no {SECRET_ROTATION} rotates it and its value is no rotating password"
        found.append((f"{secret.name}: {reason}", secret.urn))
    return found


_KEY_MIRRORS_S2 = ("KMS.5", "CKV_AWS_33", "CIS-AWS 2.21")

RULES: list[Rule] = [
    ResourceRule(
        Meta("S1", "kms-key-rotation-enabled", "Symmetric KMS keys rotate their key material yearly",
             Severity.MEDIUM, mandatory=True, remediation="Set enable_key_rotation=True on the aws.kms.Key.",
             mirrors=("KMS.4", "CKV_AWS_7", "CIS-AWS 4.6")),
        (KEY,), (check("enableKeyRotation", **is_true(),
                       when=lambda p: get(p, "customerMasterKeySpec") in (MISSING, "SYMMETRIC_DEFAULT")),)),
    ResourceRule(
        Meta("S2", "kms-key-not-public", "Key policies never allow Principal \"*\" without a Condition",
             Severity.CRITICAL, mandatory=True,
             remediation="Name the account root or roles as principals, or add a Condition (kms:CallerAccount, "
                         "kms:ViaService) to the statement that names \"*\".", mirrors=_KEY_MIRRORS_S2),
        (KEY,), custom=_policy_not_public),
    ResourceRule(
        Meta("S3", "kms-key-policy-defined", "KMS keys declare their key policy", Severity.LOW, mandatory=False,
             remediation="Pass policy= to the aws.kms.Key (exempt keys whose policy is an aws.kms.KeyPolicy).",
             mirrors=("CKV2_AWS_64",)),
        (KEY,), (check("policy", **present()),)),
    ResourceRule(
        Meta("S4", "kms-key-enabled", "KMS keys are enabled", Severity.LOW, mandatory=False,
             remediation="Remove is_enabled=False; disable a key only through a reviewed change.",
             mirrors=("CKV_AWS_227",)),
        (KEY,), (check("isEnabled", test=lambda v: v is not False, expect="must not be false", wrong=False,
                       missing_ok=True),)),
    ResourceRule(
        Meta("S5", "kms-key-deletion-window-30", "Prod KMS keys wait the full 30 days before deletion",
             Severity.CRITICAL, mandatory=False,
             remediation="Leave deletion_window_in_days at 30 on prod keys.", mirrors=("KMS.3",)),
        (KEY,), (check("deletionWindowInDays", **equals(30, wrong=7), missing_ok=True),), prod_only=True),
    ResourceRule(
        Meta("S6", "kms-key-no-lockout-bypass", "Key policies never bypass the lockout safety check",
             Severity.CRITICAL, mandatory=True,
             remediation="Remove bypass_policy_lockout_safety_check=True from the aws.kms.Key."),
        (KEY,), (check("bypassPolicyLockoutSafetyCheck", test=lambda v: v is not True, expect="must not be true",
                       wrong=True, missing_ok=True),)),
    ResourceRule(
        Meta("S7", "kms-key-description", "KMS keys say what they encrypt", Severity.LOW, mandatory=False,
             remediation="Set description on the aws.kms.Key."),
        (KEY,), (check("description", **present()),)),
    ResourceRule(
        Meta("S8", "iam-no-kms-decrypt-on-all-keys", "IAM policies never allow kms:Decrypt or kms:ReEncryptFrom "
             "on every key", Severity.MEDIUM, mandatory=True,
             remediation="Grant decrypt on the key ARNs the role needs (components/iam_policies), never on \"*\".",
             mirrors=("KMS.1", "KMS.2")),
        (*IAM_POLICY_TYPES, ROLE), custom=_iam_decrypt),
    ResourceRule(
        Meta("S9", "secretsmanager-secret-cmk", "Secrets and their replicas are encrypted with customer managed "
             "keys", Severity.LOW, mandatory=True,
             remediation="Set kms_key_id (and replicas[*].kms_key_id) to the region's secrets key.",
             mirrors=("CKV_AWS_149",)),
        (SECRET,), (check("kmsKeyId", test=customer_managed, expect=_CMK, wrong="alias/aws/secretsmanager",
                          unknown_ok=True),),
        custom=_replica_keys),
    StackRule(
        Meta("S10", "secretsmanager-secret-rotation", "Every secret has a rotation schedule", Severity.MEDIUM,
             mandatory=False,
             remediation="Add an aws.secretsmanager.SecretRotation (rotation Lambda or managed rotation) per secret, "
                         "or generate its value with a RandomPassword kept by a pulumiverse-time Rotating "
                         f"(components/rotating_password.py); either within {MAX_ROTATION_DAYS_KEY} days.",
             mirrors=("SecretsManager.1", "SecretsManager.4", "CKV2_AWS_57", "CKV_AWS_304")),
        _rotation,
        config={MAX_ROTATION_DAYS_KEY: {"type": "integer", "default": DEFAULT_MAX_ROTATION_DAYS,
                                        "description": "longest rotation period a secret may have, in days"}}),
    ResourceRule(
        Meta("S12", "secretsmanager-secret-not-public", "Secret policies allow no Principal \"*\" without a "
             "Condition", Severity.HIGH, mandatory=True,
             remediation="Name the roles that read the secret as principals in the secret policy.",
             mirrors=("CIS-AWS 2.21", "secretsmanager_not_publicly_accessible")),
        (SECRET, SECRET_POLICY), custom=_policy_not_public),
    ResourceRule(
        Meta("S13", "secretsmanager-secret-description", "Secrets say whose credentials they hold", Severity.LOW,
             mandatory=False, remediation="Set description on the aws.secretsmanager.Secret."),
        (SECRET,), (check("description", **present()),)),
]


# ---------------------------------------------------------------------------------------------- P5 KMS

_KEY_PROPS = ("kmsKeyId", "kmsKeyArn", "encryptionAtRestKmsKeyArn", "performanceInsightsKmsKeyId", "keyArn",
              "targetKeyArn", "masterUserSecretKmsKeyId")


def _key_refs(read: Reader, resource: Any, node: Any, path: str, region: Any) -> list[tuple[str, Any, Any]]:
    """(path, key ARN or the kms Key it comes from, region it must be in) for every KMS key reference under node.

    A reference unknown during preview (the ARN of a key the stack creates) is the one kms Key the engine's
    property dependencies name for its top-level input; with none, or several, it fails closed.
    """
    refs: list[tuple[str, Any, Any]] = []
    if isinstance(node, Mapping):
        try:
            own = node.get("region")
        except UnknownValueError:
            own = read.unknown(resource, f"{path}region")
        region = own if isinstance(own, str) or own is UNKNOWN else region
        for key in list(iter(node)):
            try:
                value = node[key]
            except UnknownValueError:
                if key in _KEY_PROPS:
                    source = dependency(resource, f"{path}{key}", KMS_KEY)
                    if source is None:
                        read.unknown(resource, f"{path}{key}")
                    else:
                        refs.append((f"{path}{key}", source, region))
                continue
            if key in _KEY_PROPS and isinstance(value, str):
                refs.append((f"{path}{key}", value, region))
            else:
                refs.extend(_key_refs(read, resource, value, f"{path}{key}.", region))
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for i in range(len(node)):
            try:
                value = node[i]
            except UnknownValueError:
                continue
            refs.extend(_key_refs(read, resource, value, f"{path}{i}.", region))
    return refs


def _kms_regions(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P5. A key ARN unknown at the first preview is checked as the region of the kms Key it comes from."""
    read = Reader()
    found: list[Finding] = []
    for resource in resources:
        if not resource.resource_type.startswith("aws:"):
            continue
        region = read.region(resource)
        for path, arn, want in _key_refs(read, resource, resource.props, "", region):
            if not isinstance(arn, str):  # the kms Key an unknown reference comes from
                if want is UNKNOWN:
                    continue
                key_region = read.region(arn)
                whose = "the replica's" if path.startswith("replicas.") else "the resource's"
                if want is None or key_region is None:
                    found.append((f"{resource.name}: {path} (key {arn.name}) cannot be checked: "
                                  f"{'the resource' if want is None else 'the key'} has no determinable region",
                                  resource.urn))
                elif key_region is not UNKNOWN and key_region != want:
                    found.append((f"{resource.name}: {path} comes from key {arn.name} in {key_region}, not "
                                  f"{whose} region {want}", resource.urn))
                continue
            parts = arn.split(":")
            if not arn.startswith("arn:") or len(parts) < 6 or parts[2] != "kms" or want is UNKNOWN:
                continue
            if want is None:
                found.append((f"{resource.name}: {path} {arn} cannot be checked: the resource has no determinable "
                              "region", resource.urn))
            elif parts[3] != want:
                whose = "the replica's" if path.startswith("replicas.") else "the resource's"
                found.append((f"{resource.name}: {path} {arn} is a key in {parts[3] or 'no region'}, not "
                              f"{whose} region {want}", resource.urn))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P5", "platform-kms-region", "Every KMS key a resource uses lives in the resource's own region",
             Severity.HIGH, mandatory=True,
             remediation="Use the regional key (or a multi-Region replica key) of the resource's region; Secrets "
                         "Manager replicas use a key of the replica's region."),
        stable(_kms_regions)),
]
