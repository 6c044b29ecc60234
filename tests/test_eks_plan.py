"""The EKS layer of the planned stacks: one hardened cluster per region, its nodes, add-ons and access."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.eks import AMI_TYPE, CONTROL_PLANE_LOGS
from regions.eks_versions import EKS_VERSIONS
from regions.loader import load, manifest_path
from tests.plan_helpers import Doc, by_urn, of_type, tagged


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _region_of_arn(arn: str) -> str:
    return arn.split(":")[3]


def _cluster(plan: Doc, region: str) -> dict[str, Any]:
    (cluster,) = of_type(plan, "aws:eks/cluster:Cluster", region)
    return cluster


def _named(resources: list[dict[str, Any]], suffix: str) -> dict[str, Any]:
    (found,) = [r for r in resources if r["name"].endswith(suffix)]
    return found


def test_exactly_one_cluster_per_region(plan: Doc) -> None:
    clusters = of_type(plan, "aws:eks/cluster:Cluster")
    assert sorted(c["region"] for c in clusters) == sorted(plan["regions"])
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for region in manifest.regions:
        assert _cluster(plan, region.name)["inputs"]["version"] == region.eks.kubernetes_version


def test_api_endpoint_private_only_by_default(plan: Doc) -> None:
    for region in plan["regions"]:
        vpc = _cluster(plan, region)["inputs"]["vpcConfig"]
        assert vpc["endpointPrivateAccess"] is True
        assert vpc["endpointPublicAccess"] is False and "publicAccessCidrs" not in vpc
        subnets = of_type(plan, "aws:ec2/subnet:Subnet", region)
        private = {s["outputs"]["id"] for s in tagged(subnets, "tier", "private")}
        assert set(vpc["subnetIds"]) == private


def test_secrets_encrypted_with_a_rotating_key_of_the_same_region(plan: Doc) -> None:
    keys = {k["outputs"]["arn"]: k for k in of_type(plan, "aws:kms/key:Key")}
    for region in plan["regions"]:
        encryption = _cluster(plan, region)["inputs"]["encryptionConfig"]
        assert encryption["resources"] == ["secrets"]
        key_arn = encryption["provider"]["keyArn"]
        assert _region_of_arn(key_arn) == region
        assert keys[key_arn]["region"] == region and keys[key_arn]["inputs"]["enableKeyRotation"] is True


def test_all_five_control_plane_logs_to_an_encrypted_group_with_retention(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    urns = by_urn(plan)
    for region in manifest.regions:
        cluster = _cluster(plan, region.name)
        assert sorted(cluster["inputs"]["enabledClusterLogTypes"]) == sorted(CONTROL_PLANE_LOGS)
        assert len(CONTROL_PLANE_LOGS) == 5
        group = _named(of_type(plan, "aws:cloudwatch/logGroup:LogGroup", region.name), "-eks-control-plane")
        assert group["inputs"]["name"] == f"/aws/eks/{cluster['inputs']['name']}/cluster"
        assert group["inputs"]["retentionInDays"] == region.eks.log_retention_days
        assert _region_of_arn(group["inputs"]["kmsKeyId"]) == region.name
        # Created before the cluster, or EKS creates its own unencrypted group with no retention.
        assert group["urn"] in cluster["dependencies"] and urns[group["urn"]]


def test_access_through_the_api_with_the_admin_role_and_the_deploy_runner_only(plan: Doc) -> None:
    admin = "arn:aws:iam::111111111111:role/platform-admin" if plan["stack"] == "prod" \
        else "arn:aws:iam::222222222222:role/platform-admin"
    for region in plan["regions"]:
        access = _cluster(plan, region)["inputs"]["accessConfig"]
        assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
        (runner,) = [r for r in of_type(plan, "aws:iam/role:Role", region) if r["name"].endswith("-deploy-runner")]
        entries = {e["inputs"]["principalArn"]: e for e in of_type(plan, "aws:eks/accessEntry:AccessEntry", region)}
        assert set(entries) == {admin, runner["outputs"]["arn"]}
        entry = entries[admin]
        (association,) = [a for a in of_type(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", region)
                          if a["inputs"]["principalArn"] == admin]
        assert entry["inputs"]["principalArn"] == admin and entry["inputs"]["type"] == "STANDARD"
        assert association["inputs"]["principalArn"] == admin
        assert association["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
        assert association["inputs"]["accessScope"] == {"type": "cluster"}


def test_deletion_protection_and_protect_in_prod_only(prod_plan: Doc, dev_plan: Doc) -> None:
    for cluster in of_type(prod_plan, "aws:eks/cluster:Cluster"):
        assert cluster["inputs"]["deletionProtection"] is True and cluster["protect"] is True
    for cluster in of_type(dev_plan, "aws:eks/cluster:Cluster"):
        assert cluster["inputs"]["deletionProtection"] is False and cluster["protect"] is False


def test_node_groups_and_add_ons_stay_replaceable_in_prod(prod_plan: Doc) -> None:
    for token in ("aws:eks/nodeGroup:NodeGroup", "aws:eks/addon:Addon", "aws:ec2/launchTemplate:LaunchTemplate"):
        assert not any(r["protect"] for r in of_type(prod_plan, token)), token


def test_explicit_standard_upgrade_policy(plan: Doc) -> None:
    for cluster in of_type(plan, "aws:eks/cluster:Cluster"):
        assert cluster["inputs"]["upgradePolicy"] == {"supportType": "STANDARD"}
        assert cluster["inputs"]["bootstrapSelfManagedAddons"] is False


def test_node_groups_private_graviton_from_the_manifest(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for region in manifest.regions:
        subnets = of_type(plan, "aws:ec2/subnet:Subnet", region.name)
        private = {s["outputs"]["id"] for s in tagged(subnets, "tier", "private")}
        groups = {g["inputs"]["nodeGroupName"]: g for g in of_type(plan, "aws:eks/nodeGroup:NodeGroup", region.name)}
        assert set(groups) == {f"{region.short_code}-{g.name}" for g in region.eks.node_groups}
        for spec in region.eks.node_groups:
            group = groups[f"{region.short_code}-{spec.name}"]["inputs"]
            assert group["subnetIds"] and set(group["subnetIds"]) <= private
            assert group["amiType"] == AMI_TYPE
            assert group["instanceTypes"] == spec.instance_types
            assert group["scalingConfig"] == {"minSize": spec.min_size, "desiredSize": spec.desired_size,
                                              "maxSize": spec.max_size}
            assert group["taints"] == [{"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})}
                                       for t in spec.taints]


def test_launch_templates_require_imdsv2_hop_limit_1_and_encrypted_gp3(plan: Doc) -> None:
    for region in plan["regions"]:
        templates = {t["outputs"]["id"]: t for t in of_type(plan, "aws:ec2/launchTemplate:LaunchTemplate", region)}
        groups = of_type(plan, "aws:eks/nodeGroup:NodeGroup", region)
        assert {g["inputs"]["launchTemplate"]["id"] for g in groups} == set(templates)
        cluster_sg = _cluster(plan, region)["outputs"]["vpcConfig"]["clusterSecurityGroupId"]
        for template in templates.values():
            inputs = template["inputs"]
            assert inputs["metadataOptions"]["httpTokens"] == "required"
            assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
            (disk,) = inputs["blockDeviceMappings"]
            assert disk["ebs"]["encrypted"] == "true" and disk["ebs"]["volumeType"] == "gp3"
            assert _region_of_arn(disk["ebs"]["kmsKeyId"]) == region
            assert "imageId" not in inputs and "keyName" not in inputs  # EKS picks the AMI; no SSH key
            assert cluster_sg in inputs["vpcSecurityGroupIds"] and len(inputs["vpcSecurityGroupIds"]) == 2


def test_vpc_cni_with_prefix_delegation_and_network_policy_before_the_nodes(plan: Doc) -> None:
    for region in plan["regions"]:
        addons = {a["inputs"]["addonName"]: a for a in of_type(plan, "aws:eks/addon:Addon", region)}
        cni = addons["vpc-cni"]
        config = json.loads(cni["inputs"]["configurationValues"])
        assert config["env"]["ENABLE_PREFIX_DELEGATION"] == "true"
        assert config["enableNetworkPolicy"] == "true"
        assert cni["inputs"]["podIdentityAssociations"][0]["serviceAccount"] == "aws-node"
        for group in of_type(plan, "aws:eks/nodeGroup:NodeGroup", region):
            for first in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
                assert addons[first]["urn"] in group["dependencies"], (group["name"], first)
        for after in ("coredns", "aws-ebs-csi-driver"):
            assert all(g["urn"] in addons[after]["dependencies"]
                       for g in of_type(plan, "aws:eks/nodeGroup:NodeGroup", region))


def test_add_on_versions_are_pinned_from_the_catalog(plan: Doc) -> None:
    for region in plan["regions"]:
        version = _cluster(plan, region)["inputs"]["version"]
        pinned = {a["inputs"]["addonName"]: a["inputs"]["addonVersion"]
                  for a in of_type(plan, "aws:eks/addon:Addon", region)}
        assert pinned == EKS_VERSIONS[version].addons


def test_node_role_has_only_what_nodes_need(plan: Doc) -> None:
    attachments = of_type(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for region in plan["regions"]:
        role = f"{plan['environment']}-{_cluster(plan, region)['inputs']['name'].split('-')[-1]}"
        node_policies = sorted(a["inputs"]["policyArn"].rsplit("/", 1)[-1] for a in attachments
                               if a["inputs"]["role"] == f"{role}-eks-nodes")
        assert node_policies == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy"]


def test_controller_roles_trust_only_pod_identity_of_their_cluster(plan: Doc) -> None:
    roles = {r["outputs"]["arn"]: r for r in of_type(plan, "aws:iam/role:Role")}
    for region in plan["regions"]:
        cluster_arn = _cluster(plan, region)["outputs"]["arn"]
        associations = of_type(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", region)
        addon_bound = [p for a in of_type(plan, "aws:eks/addon:Addon", region)
                       for p in a["inputs"].get("podIdentityAssociations", [])]
        bound = {(a["inputs"]["namespace"], a["inputs"]["serviceAccount"]): a["inputs"]["roleArn"]
                 for a in associations}
        assert set(bound) == {("kube-system", "aws-load-balancer-controller"), ("kube-system", "cluster-autoscaler"),
                              ("monitoring", "grafana")}
        role_arns = [*bound.values(), *(p["roleArn"] for p in addon_bound)]
        assert len(set(role_arns)) == len(role_arns) == 5  # one role per controller
        for arn in role_arns:
            (statement,) = json.loads(roles[arn]["inputs"]["assumeRolePolicy"])["Statement"]
            assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
            assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == cluster_arn


def test_one_kubernetes_provider_per_cluster_with_get_token(plan: Doc) -> None:
    providers = of_type(plan, "pulumi:providers:kubernetes")
    assert sorted(p["region"] for p in providers) == sorted(plan["regions"])
    for provider in providers:
        cluster = _cluster(plan, provider["region"])
        kubeconfig = json.loads(provider["inputs"]["kubeconfig"])
        assert kubeconfig["clusters"][0]["cluster"]["server"] == cluster["outputs"]["endpoint"]
        args = kubeconfig["users"][0]["user"]["exec"]["args"]
        assert args[:2] == ["eks", "get-token"]
        assert args[args.index("--cluster-name") + 1] == cluster["inputs"]["name"]
        assert args[args.index("--region") + 1] == provider["region"]
    kubernetes = [r for r in plan["resources"] if r["custom"] and r["type"].startswith("kubernetes:")]
    provider_of = {p["urn"]: p["region"] for p in providers}
    assert kubernetes and all(provider_of[r["provider"]] == r["region"] for r in kubernetes)


def test_baseline_namespaces_enforce_restricted_pod_security(plan: Doc) -> None:
    for region in plan["regions"]:
        namespaces = {n["inputs"]["metadata"]["name"]: n["inputs"]["metadata"]["labels"]
                      for n in of_type(plan, "kubernetes:core/v1:Namespace", region)}
        assert {"apps", "data", "ingress"} <= set(namespaces)
        for name in ("apps", "data", "ingress"):
            assert namespaces[name]["pod-security.kubernetes.io/enforce"] == "restricted"
        # Only the monitoring namespace runs privileged pods (node-exporter), and it is audited as baseline.
        assert {n for n, labels in namespaces.items()
                if labels["pod-security.kubernetes.io/enforce"] != "restricted"} == {"monitoring"}
        assert namespaces["monitoring"]["pod-security.kubernetes.io/audit"] == "baseline"


def test_data_namespace_denies_by_default(plan: Doc) -> None:
    for region in plan["regions"]:
        policies = {p["inputs"]["metadata"]["name"]: p["inputs"]
                    for p in of_type(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", region)
                    if p["inputs"]["metadata"]["namespace"] == "data"}
        deny = policies["default-deny"]["spec"]
        assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
        assert "ingress" not in deny and "egress" not in deny


def test_platform_controllers_are_pinned_helm_releases_on_system_nodes(plan: Doc) -> None:
    for region in plan["regions"]:
        releases = {r["inputs"]["chart"]: r["inputs"] for r in of_type(plan, "kubernetes:helm.sh/v3:Release", region)
                    if r["inputs"]["namespace"] == "kube-system"}
        assert set(releases) == {"aws-load-balancer-controller", "cluster-autoscaler", "metrics-server"}
        cluster_name = _cluster(plan, region)["inputs"]["name"]
        for release in releases.values():
            assert release["version"] and release["namespace"] == "kube-system"
            assert release["values"]["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
        assert releases["aws-load-balancer-controller"]["values"]["clusterName"] == cluster_name
        assert releases["aws-load-balancer-controller"]["values"]["region"] == region
        assert releases["cluster-autoscaler"]["values"]["autoDiscovery"]["clusterName"] == cluster_name
        assert releases["cluster-autoscaler"]["values"]["awsRegion"] == region


def test_node_groups_leave_the_current_size_to_the_autoscaler(plan: Doc) -> None:
    groups = of_type(plan, "aws:eks/nodeGroup:NodeGroup")
    assert groups and all(g["ignoreChanges"] == ["scalingConfig.desiredSize"] for g in groups)


def test_each_node_group_carries_its_own_security_group(plan: Doc) -> None:
    """Data tiers admit one group's pods by that group's security group; no group shares another's."""
    for region in plan["regions"]:
        sgs = of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
        groups = {g["inputs"]["tags"]["node-group"]: g for g in sgs
                  if "node-group" in g["inputs"].get("tags", {})}
        assert set(groups) == {"system", "workloads", "pgbouncer"}
        templates = {t["inputs"]["name"].rsplit("-", 1)[-1]: t["inputs"]["vpcSecurityGroupIds"]
                     for t in of_type(plan, "aws:ec2/launchTemplate:LaunchTemplate", region)}
        for name, sg in groups.items():
            assert sg["outputs"]["id"] in templates[name]
            assert all(sg["outputs"]["id"] not in ids for other, ids in templates.items() if other != name)
            assert "ingress" not in sg["inputs"]  # rules are separate resources, added by whoever needs them
        exported = plan["stackOutputs"]["clusters"][region]["nodeSecurityGroupIds"]
        assert exported == {name: sg["outputs"]["id"] for name, sg in groups.items()}
