"""The project's one mocks implementation: what AWS, Cloudflare and Kubernetes would answer.

Ids are deterministic (a hash of type and name), ARNs carry the resource's real region and the stack's
account, and every invoke the program calls has an answer shaped like the provider's. An invoke with no
answer here fails loudly instead of returning empty fields.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

PARTITION = "aws"

# Availability zones as one account sees them: names map to AZ IDs in an account-specific order, so the
# program's sort by AZ ID is exercised. us-east-1 includes use1-az3, which EKS cannot use.
AVAILABILITY_ZONES: dict[str, list[tuple[str, str]]] = {
    "us-east-1": [("us-east-1a", "use1-az4"), ("us-east-1b", "use1-az6"), ("us-east-1c", "use1-az1"),
                  ("us-east-1d", "use1-az2"), ("us-east-1e", "use1-az3"), ("us-east-1f", "use1-az5")],
    "eu-west-1": [("eu-west-1a", "euw1-az3"), ("eu-west-1b", "euw1-az1"), ("eu-west-1c", "euw1-az2")],
    "ap-southeast-1": [("ap-southeast-1a", "apse1-az2"), ("ap-southeast-1b", "apse1-az1"),
                       ("ap-southeast-1c", "apse1-az3")],
    "ap-south-1": [("ap-south-1a", "aps1-az1"), ("ap-south-1b", "aps1-az3"), ("ap-south-1c", "aps1-az2")],
}

# Cloudflare's published IPv4 and IPv6 ranges (cloudflare.com/ips), as the getIpRanges invoke returns them.
CLOUDFLARE_IPV4 = ["173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
                   "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22",
                   "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13",
                   "131.0.72.0/22"]
CLOUDFLARE_IPV6 = ["2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
                   "2a06:98c0::/29", "2c0f:f248::/32"]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# type token -> (id prefix, ARN resource part with {id}/{name}); EC2-style ids are prefix + 17 hex digits.
_EC2: dict[str, tuple[str, str]] = {
    "aws:ec2/vpc:Vpc": ("vpc", "vpc/{id}"),
    "aws:ec2/subnet:Subnet": ("subnet", "subnet/{id}"),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway/{id}"),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip/{id}"),
    "aws:ec2/natGateway:NatGateway": ("nat", "natgateway/{id}"),
    "aws:ec2/routeTable:RouteTable": ("rtb", "route-table/{id}"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("rtbassoc", ""),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group/{id}"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg", "security-group/{id}"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint/{id}"),
    "aws:ec2/flowLog:FlowLog": ("fl", "vpc-flow-log/{id}"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("lt", "launch-template/{id}"),
    "aws:ec2/managedPrefixList:ManagedPrefixList": ("pl", "prefix-list/{id}"),
}


STACK_REFERENCE = "pulumi:pulumi:StackReference"


@dataclass(frozen=True)
class StackOutputs:
    values: dict[str, Any]
    secret_names: frozenset[str] = frozenset()


class PlatformMocks(pulumi.runtime.Mocks):
    def __init__(self, account_id: str = "123456789012",
                 stack_outputs: dict[str, StackOutputs] | None = None) -> None:
        self.account_id = account_id
        # Stack name -> its outputs, for the program's StackReferences (the stacks planned before this one).
        self.stack_outputs = stack_outputs or {}
        # "<provider urn>::<provider id>" -> region, filled in by the recording monitor.
        self.provider_regions: dict[str, str | None] = {}
        self._calls: dict[str, Callable[[dict[str, Any], str | None], dict[str, Any]]] = {
            "aws:index/getAvailabilityZones:getAvailabilityZones": self._availability_zones,
            "aws:index/getCallerIdentity:getCallerIdentity": self._caller_identity,
            "aws:index/getPartition:getPartition": self._partition,
            "aws:index/getRegion:getRegion": self._region,
            "aws:iam/getPolicyDocument:getPolicyDocument": self._policy_document,
            "aws:eks/getClusterAuth:getClusterAuth": self._cluster_auth,
            "cloudflare:index/getIpRanges:getIpRanges": self._cloudflare_ips,
        }

    # -- resources ------------------------------------------------------------------------------------

    def region_of(self, provider_ref: str | None) -> str | None:
        return self.provider_regions.get(provider_ref or "")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(str(args.inputs.get("name") or args.resource_id or args.name))
        if not args.custom:
            return None, {}
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return str(uuid.UUID(_digest(args.typ, args.name)[:32])), inputs
        region = inputs.get("region") or self.region_of(args.provider)
        resource_id, extra = self._outputs(args.typ, args.name, inputs, region)
        return resource_id, {**inputs, **extra}

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        """What the engine reads for `org/project/stack`: that stack's outputs and which of them are secret."""
        stack = name.rsplit("/", 1)[-1]
        if stack not in self.stack_outputs:
            raise KeyError(f"StackReference {name}: stack {stack} has not been planned (known: "
                           f"{', '.join(sorted(self.stack_outputs)) or 'none'})")
        found = self.stack_outputs[stack]
        return name, {"name": name, "outputs": dict(found.values), "secretOutputNames": sorted(found.secret_names)}

    def _arn(self, service: str, region: str | None, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{region or ''}:{self.account_id}:{resource}"

    def _outputs(self, typ: str, name: str, inputs: dict[str, Any], region: str | None) -> tuple[str, dict[str, Any]]:
        h = _digest(typ, name, region or "")
        if typ in _EC2:
            prefix, arn_part = _EC2[typ]
            rid = f"{prefix}-{h[:17]}"
            out: dict[str, Any] = {"id": rid, "ownerId": self.account_id}
            if arn_part:
                out["arn"] = self._arn("ec2", region, arn_part.format(id=rid))
            return rid, out | self._ec2_extra(typ, rid, h, inputs, region)
        if typ == "aws:kms/key:Key":
            key_id = str(uuid.UUID(h[:32]))
            return key_id, {"keyId": key_id, "arn": self._arn("kms", region, f"key/{key_id}")}
        if typ == "aws:kms/alias:Alias":
            return inputs["name"], {"arn": self._arn("kms", region, inputs["name"]),
                                    "targetKeyArn": self._arn("kms", region, f"key/{inputs.get('targetKeyId')}")}
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return inputs["name"], {"arn": self._arn("logs", region, f"log-group:{inputs['name']}")}
        if typ == "aws:iam/role:Role":
            role = inputs.get("name") or f"{name}-{h[:7]}"
            return role, {"name": role, "arn": f"arn:{PARTITION}:iam::{self.account_id}:role/{role}",
                          "uniqueId": f"AROA{h[:17].upper()}"}
        if typ.startswith("random:"):
            return self._random(typ, name, h, inputs)
        if typ.startswith("tls:"):
            return self._tls(typ, h)
        if typ.startswith("cloudflare:"):
            return h[:32], {"id": h[:32]}  # Cloudflare ids are 32 hex digits
        if typ.startswith(("aws:msk/", "aws:elasticache/", "kafka:")):
            return self._streams_and_cache(typ, name, h, inputs, region)
        if typ.startswith(("aws:rds/", "aws:secretsmanager/", "aws:ssm/")):
            return self._data_tier(typ, name, h, inputs, region)
        if typ.startswith(("aws:eks/", "aws:lb/")):
            return self._eks_or_lb(typ, name, h, inputs, region)
        if typ.startswith(("aws:backup/", "aws:serverlessrepository/", "time:")):
            return self._backup_and_rotation(typ, name, h, inputs, region)
        if typ == "aws:iam/rolePolicy:RolePolicy":
            policy = inputs.get("name") or f"{name}-{h[:7]}"
            return f"{inputs.get('role')}:{policy}", {"name": policy}
        service = typ.split(":")[1].split("/")[0]
        rid = inputs.get("name") or f"{name}-{h[:8]}"
        kind = typ.rsplit(":", 1)[-1].lower()
        return rid, {"arn": self._arn(service, region, f"{kind}/{rid}")}

    def _backup_and_rotation(self, typ: str, name: str, h: str, inputs: dict[str, Any],
                             region: str | None) -> tuple[str, dict[str, Any]]:
        """AWS Backup (vaults are named in their ARNs, plans by UUID), the rotation function's stack, time."""
        if typ == "aws:backup/vault:Vault":
            return inputs["name"], {"arn": self._arn("backup", region, f"backup-vault:{inputs['name']}"),
                                    "recoveryPoints": 0}
        if typ == "aws:backup/plan:Plan":
            plan_id = str(uuid.UUID(h[:32]))
            return plan_id, {"arn": self._arn("backup", region, f"backup-plan:{plan_id}"), "version": h[:32]}
        if typ == "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
            # The rotation application's template output: the function Secrets Manager invokes.
            stack = f"serverlessrepo-{inputs['name']}"
            function = inputs.get("parameters", {}).get("functionName", name)
            return self._arn("cloudformation", region, f"stack/{stack}/{uuid.UUID(h[:32])}"), {
                "outputs": {"RotationLambdaARN": self._arn("lambda", region, f"function:{function}")}}
        if typ == "time:index/rotating:Rotating":
            # A fixed base time: plans stay deterministic; the rotation time is the base plus the period.
            given = inputs.get("rfc3339")
            base = datetime.datetime.fromisoformat(given.replace("Z", "+00:00")) if isinstance(given, str) else \
                datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
            due = base + datetime.timedelta(days=int(inputs.get("rotationDays") or 0))
            stamp = base.strftime("%Y-%m-%dT%H:%M:%SZ")
            return stamp, {"rfc3339": stamp, "rotationRfc3339": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "unix": int(base.timestamp())}
        rid = inputs.get("name") or f"{name}-{h[:8]}"
        return rid, {}

    @staticmethod
    def _random(typ: str, name: str, h: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Deterministic stand-ins of the right length; the engine marks them secret as the provider does."""
        length = int(inputs.get("length") or 16)
        if typ == "random:index/randomPassword:RandomPassword":
            value = ("Offline-" + h * 4)[:length]
            return "none", {"result": value, "bcryptHash": f"$2a$10${h[:53]}"}
        if typ == "random:index/randomBytes:RandomBytes":
            raw = bytes.fromhex((h * 4)[: 2 * length])
            return "none", {"base64": base64.b64encode(raw).decode(), "hex": raw.hex()}
        return "none", {}

    @staticmethod
    def _tls(typ: str, h: str) -> tuple[str, dict[str, Any]]:
        """PEM-shaped placeholders: offline there is no key generation, and no plan needs a real one."""
        def pem(kind: str) -> str:
            return f"-----BEGIN {kind}-----\nT0ZGTElORS{h[:40]}\n-----END {kind}-----\n"

        if typ == "tls:index/privateKey:PrivateKey":
            return h[:40], {"privateKeyPem": pem("PRIVATE KEY"), "publicKeyPem": pem("PUBLIC KEY")}
        if typ == "tls:index/certRequest:CertRequest":
            return h[:40], {"certRequestPem": pem("CERTIFICATE REQUEST")}
        return str(int(h[:16], 16)), {"certPem": pem("CERTIFICATE"), "validityStartTime": "2026-11-25T00:00:00Z",
                                      "validityEndTime": "2036-11-22T00:00:00Z"}

    def _streams_and_cache(self, typ: str, name: str, h: str, inputs: dict[str, Any],
                           region: str | None) -> tuple[str, dict[str, Any]]:
        if typ == "aws:msk/cluster:Cluster":
            cluster, uuid_ = inputs["clusterName"], f"{uuid.UUID(h[:32])}-{h[32:33]}"
            arn = self._arn("kafka", region, f"cluster/{cluster}/{uuid_}")
            brokers = ",".join(f"b-{n}.{cluster}.{h[:6]}.c{n}.kafka.{region}.amazonaws.com:9098"
                               for n in range(1, int(inputs.get("numberOfBrokerNodes") or 3) + 1))
            return arn, {"arn": arn, "clusterUuid": uuid_, "bootstrapBrokersSaslIam": brokers,
                         "currentVersion": f"K{h[:12].upper()}"}
        if typ == "aws:msk/configuration:Configuration":
            arn = self._arn("kafka", region, f"configuration/{inputs['name']}/{uuid.UUID(h[:32])}-1")
            return arn, {"arn": arn, "latestRevision": 1}
        if typ == "aws:msk/replicator:Replicator":
            arn = self._arn("kafka", region, f"replicator/{inputs['replicatorName']}/{uuid.UUID(h[:32])}")
            return arn, {"arn": arn, "currentVersion": "1"}
        if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            ident = inputs["replicationGroupId"]
            return ident, {"arn": self._arn("elasticache", region, f"replicationgroup:{ident}"),
                           "configurationEndpointAddress": f"clustercfg.{ident}.{h[:6]}.{region[:-2] if region else ''}"
                                                           f"{(region or '')[-1:]}.cache.amazonaws.com"}
        if typ == "aws:elasticache/user:User":
            return inputs["userId"], {"arn": self._arn("elasticache", region, f"user:{inputs['userId']}")}
        if typ == "aws:elasticache/userGroup:UserGroup":
            group = inputs["userGroupId"]
            return group, {"arn": self._arn("elasticache", region, f"usergroup:{group}")}
        if typ.startswith("kafka:"):
            return inputs.get("name") or f"{name}-{h[:8]}", {}
        rid = inputs.get("name") or f"{name}-{h[:8]}"
        service, kind = typ.split(":")[1].split("/")[0], typ.rsplit(":", 1)[-1].lower()
        return rid, {"arn": self._arn(service, region, f"{kind}:{rid}")}

    def _data_tier(self, typ: str, name: str, h: str, inputs: dict[str, Any],
                   region: str | None) -> tuple[str, dict[str, Any]]:
        if typ == "aws:rds/globalCluster:GlobalCluster":
            ident = inputs["globalClusterIdentifier"]
            return ident, {"arn": f"arn:{PARTITION}:rds::{self.account_id}:global-cluster:{ident}",
                           "globalClusterResourceId": f"cluster-{h[:20]}",
                           "endpoint": f"{ident}.global-{h[:12]}.global.rds.amazonaws.com"}
        if typ == "aws:rds/cluster:Cluster":
            ident = inputs["clusterIdentifier"]
            host = f"cluster-{h[:12]}.{region}.rds.amazonaws.com"
            return ident, {"arn": self._arn("rds", region, f"cluster:{ident}"),
                           "clusterResourceId": f"cluster-{h[:26]}",
                           "endpoint": f"{ident}.{host}", "readerEndpoint": f"{ident}.cluster-ro-{host[8:]}"}
        if typ == "aws:rds/clusterInstance:ClusterInstance":
            ident = inputs["identifier"]
            return ident, {"arn": self._arn("rds", region, f"db:{ident}"),
                           "endpoint": f"{ident}.{h[:12]}.{region}.rds.amazonaws.com", "port": 5432}
        if typ == "aws:secretsmanager/secret:Secret":
            arn = self._arn("secretsmanager", region, f"secret:{inputs['name']}-{h[:6]}")
            return arn, {"arn": arn}
        if typ == "aws:secretsmanager/secretVersion:SecretVersion":
            return f"{inputs['secretId']}|{h[:32]}", {"versionId": h[:32], "arn": inputs["secretId"]}
        if typ == "aws:ssm/parameter:Parameter":
            return inputs["name"], {"arn": self._arn("ssm", region, f"parameter{inputs['name']}"), "version": 1}
        rid = inputs.get("name") or f"{name}-{h[:8]}"
        kind = typ.rsplit(":", 1)[-1].lower()
        return rid, {"arn": self._arn(typ.split(":")[1].split("/")[0], region, f"{kind}:{rid}")}

    def _eks_or_lb(self, typ: str, name: str, h: str, inputs: dict[str, Any],
                   region: str | None) -> tuple[str, dict[str, Any]]:
        if typ == "aws:eks/cluster:Cluster":
            cluster = inputs["name"]
            endpoint_host = f"{h[:32].upper()}.gr7.{region}.eks.amazonaws.com"
            return cluster, {
                "arn": self._arn("eks", region, f"cluster/{cluster}"),
                "endpoint": f"https://{endpoint_host}",
                "certificateAuthority": {"data": "TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ=="},
                "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{h[:32].upper()}"}]}],
                "status": "ACTIVE",
                "platformVersion": "eks.1",
                "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{h[17:34]}",
                              "vpcId": f"vpc-{h[34:51]}"},
            }
        if typ == "aws:eks/nodeGroup:NodeGroup":
            rid = f"{inputs['clusterName']}:{inputs['nodeGroupName']}"
            return rid, {"arn": self._arn("eks", region, f"nodegroup/{inputs['clusterName']}/"
                                                         f"{inputs['nodeGroupName']}/{h[:8]}"),
                         "status": "ACTIVE"}
        if typ == "aws:eks/addon:Addon":
            rid = f"{inputs['clusterName']}:{inputs['addonName']}"
            addon = f"addon/{inputs['clusterName']}/{inputs['addonName']}/{h[:8]}"
            return rid, {"arn": self._arn("eks", region, addon)}
        if typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            return f"a-{h[:17]}", {"associationId": f"a-{h[:17]}",
                                   "associationArn": self._arn("eks", region, f"podidentityassociation/{h[:17]}")}
        if typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"):
            kind = "loadbalancer/net" if typ.endswith("LoadBalancer") else "targetgroup"
            suffix = f"{kind}/{inputs.get('name') or name}/{h[:16]}"
            out: dict[str, Any] = {"arn": self._arn("elasticloadbalancing", region, suffix), "arnSuffix": suffix}
            if kind.startswith("loadbalancer"):
                out |= {"dnsName": f"{inputs.get('name') or name}-{h[:16]}.elb.{region}.amazonaws.com",
                        "zoneId": "Z26RNL4JYFTOTI"}
            return out["arn"], out
        rid = f"{name}-{h[:8]}"
        kind = typ.rsplit(":", 1)[-1].lower()
        service = "elasticloadbalancing" if typ.startswith("aws:lb/") else "eks"
        return rid, {"arn": self._arn(service, region, f"{kind}/{rid}")}

    def _ec2_extra(self, typ: str, rid: str, h: str, inputs: dict[str, Any], region: str | None) -> dict[str, Any]:
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {"latestVersion": 1, "defaultVersion": 1}
        if typ == "aws:ec2/managedPrefixList:ManagedPrefixList":
            return {"version": 1}
        if typ == "aws:ec2/vpc:Vpc":
            return {"defaultSecurityGroupId": f"sg-{h[17:34]}", "mainRouteTableId": f"rtb-{h[17:34]}",
                    "defaultNetworkAclId": f"acl-{h[17:34]}", "defaultRouteTableId": f"rtb-{h[17:34]}"}
        if typ == "aws:ec2/subnet:Subnet":
            az_id = inputs.get("availabilityZoneId")
            names = dict((zid, zname) for zname, zid in AVAILABILITY_ZONES.get(region or "", []))
            return {"availabilityZone": names.get(az_id or "", inputs.get("availabilityZone"))}
        if typ == "aws:ec2/eip:Eip":
            octet = int(h[:2], 16) % 254 + 1
            return {"allocationId": rid, "publicIp": f"203.0.113.{octet}", "domain": "vpc"}
        if typ == "aws:ec2/natGateway:NatGateway":
            return {"publicIp": f"198.51.100.{int(h[:2], 16) % 254 + 1}", "networkInterfaceId": f"eni-{h[17:34]}"}
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
            service = str(inputs.get("serviceName", "")).rsplit(".", 1)[-1]
            return {"dnsEntries": [{"dnsName": f"{rid}.{service}.{region}.vpce.amazonaws.com",
                                    "hostedZoneId": "Z7HUB22UULQXV"}],
                    "networkInterfaceIds": [f"eni-{h[i:i + 17]}" for i in (0, 17, 34)]}
        return {}

    # -- invokes --------------------------------------------------------------------------------------

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        handler = self._calls.get(args.token)
        if handler is None:
            raise NotImplementedError(f"offline mocks have no answer for invoke {args.token}; add one to "
                                      "offline/mocks.py shaped like the provider's result")
        return handler(dict(args.args), self.region_of(args.provider))

    def _availability_zones(self, args: dict[str, Any], region: str | None) -> dict[str, Any]:
        zones = AVAILABILITY_ZONES.get(region or "")
        if zones is None:
            raise ValueError(f"offline mocks know no availability zones for region {region!r}")
        excluded_ids = set(args.get("excludeZoneIds") or [])
        excluded_names = set(args.get("excludeNames") or [])
        kept = [(n, z) for n, z in zones if z not in excluded_ids and n not in excluded_names]
        return {"id": region, "names": [n for n, _ in kept], "zoneIds": [z for _, z in kept],
                "groupNames": [region for _ in kept], "state": args.get("state")}

    def _caller_identity(self, _args: dict[str, Any], _region: str | None) -> dict[str, Any]:
        return {"id": self.account_id, "accountId": self.account_id, "userId": "AROAOFFLINEPLAN:plan",
                "arn": f"arn:{PARTITION}:sts::{self.account_id}:assumed-role/offline-plan/plan"}

    def _partition(self, _args: dict[str, Any], _region: str | None) -> dict[str, Any]:
        return {"id": PARTITION, "partition": PARTITION, "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws"}

    def _region(self, _args: dict[str, Any], region: str | None) -> dict[str, Any]:
        return {"id": region, "name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region}

    def _policy_document(self, args: dict[str, Any], _region: str | None) -> dict[str, Any]:
        """Render statements the way the provider does: single values stay scalars, principals by type."""
        statements = []
        for s in args.get("statements") or []:
            out: dict[str, Any] = {}
            if s.get("sid"):
                out["Sid"] = s["sid"]
            out["Effect"] = s.get("effect") or "Allow"
            for key, wire in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"),
                              ("notResources", "NotResource")):
                if s.get(key):
                    values = sorted(s[key])
                    out[wire] = values[0] if len(values) == 1 else values
            for key, wire in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
                if s.get(key):
                    grouped: dict[str, list[str]] = {}
                    for p in s[key]:
                        grouped.setdefault(p["type"], []).extend(p["identifiers"])
                    out[wire] = {t: ids[0] if len(ids) == 1 else sorted(ids) for t, ids in grouped.items()}
            if s.get("conditions"):
                cond: dict[str, dict[str, Any]] = {}
                for c in s["conditions"]:
                    values = c["values"]
                    cond.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
                out["Condition"] = cond
            statements.append(out)
        doc = {"Version": args.get("version") or "2012-10-17", "Statement": statements}
        return {"id": _digest(json.dumps(doc, sort_keys=True))[:10], "json": json.dumps(doc, indent=2),
                "minifiedJson": json.dumps(doc, separators=(",", ":"))}

    def _cluster_auth(self, args: dict[str, Any], _region: str | None) -> dict[str, Any]:
        return {"id": args.get("name"), "name": args.get("name"), "token": "k8s-aws-v1.offline-plan-token"}

    def _cloudflare_ips(self, _args: dict[str, Any], _region: str | None) -> dict[str, Any]:
        return {"ipv4Cidrs": CLOUDFLARE_IPV4, "ipv6Cidrs": CLOUDFLARE_IPV6, "jdcloudCidrs": [], "etag": "offline"}
