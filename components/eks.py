"""One region's EKS cluster: control plane, access, node groups and managed add-ons (AWS API only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import policy_document, service_role
from components.pod_identity import ClusterRef, pod_role
from regions.schema import NodeGroup

# All five control-plane log types (CIS EKS 2.1.1, Security Hub EKS.8).
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
AMI_TYPE = "AL2023_ARM_64_STANDARD"  # Graviton nodes; the manifest rules refuse x86 instance types
# A node-group update replaces a third of the nodes at a time: one zone's worth of a group spread over three.
NODE_UPDATE_MAX_UNAVAILABLE_PERCENT = 33
# Kubernetes Service addresses; outside every VPC CIDR of the manifests (10.0.0.0/8), so never routed.
SERVICE_CIDR = "172.20.0.0/16"
# Node-level add-ons that must run before any node joins: the CNI (prefix delegation decides max-pods at
# node bootstrap), kube-proxy, and the Pod Identity agent the CNI's credentials come through.
ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
ADDONS_AFTER_NODES = ("coredns", "aws-ebs-csi-driver")  # Deployments: they need nodes to become ACTIVE
CRITICAL_TOLERATION = {"key": "CriticalAddonsOnly", "operator": "Exists"}
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class EksClusterArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    kubernetes_version: str
    addon_versions: dict[str, str]
    log_retention_days: int
    node_groups: Sequence[NodeGroup]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    log_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]  # envelope encryption of Kubernetes secrets (RegionKeys.eks)
    ebs_key_arn: pulumi.Input[str]  # node and persistent volumes (RegionKeys.ebs)
    admin_role_arn: str
    admin_cidrs: Sequence[str]
    protect: bool
    partition: str = "aws"

    @property
    def cluster_name(self) -> str:
        return f"{self.environment}-{self.short_code}"

    @property
    def cluster_arn(self) -> str:
        return f"arn:{self.partition}:eks:{self.region}:{self.account_id}:cluster/{self.cluster_name}"


class EksCluster(pulumi.ComponentResource):
    """A private-by-default EKS cluster with envelope-encrypted secrets and access entries only.

    Every node group gets its own security group (besides the cluster security group), so data tiers can
    admit exactly one group's pods: ``node_security_groups["workloads"]`` and friends.
    """

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:eks:EksCluster", name, None, opts)
        self.args = args
        self.ref = ClusterRef(name=args.cluster_name, arn=args.cluster_arn, account_id=args.account_id,
                              environment=args.environment, short_code=args.short_code, partition=args.partition)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{args.short_code}-eks-control-plane", name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days, kms_key_id=args.log_key_arn, opts=child)
        self.cluster_role, cluster_grants = service_role(
            f"{args.short_code}-eks-cluster", role_name=f"{args.cluster_name}-eks-cluster",
            service="eks.amazonaws.com", actions=("sts:AssumeRole", "sts:TagSession"),
            managed_policies=("AmazonEKSClusterPolicy",),
            inline_policy=pulumi.Output.from_input(args.secrets_key_arn).apply(lambda arn: policy_document([{
                "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": arn}])),
            partition=args.partition, opts=child)

        public = bool(args.admin_cidrs)
        self.cluster = aws.eks.Cluster(
            f"{args.short_code}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=self.cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.private_subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(args.admin_cidrs) if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.secrets_key_arn)),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                ip_family="ipv4", service_ipv4_cidr=SERVICE_CIDR),
            # STANDARD: at the end of standard support EKS upgrades the cluster instead of silently billing
            # extended support (6x the control-plane price); regions/eks_versions.py records the dates.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=True),
            deletion_protection=args.protect,
            # Managed add-ons below replace the unmanaged defaults EKS would otherwise install.
            bootstrap_self_managed_addons=False,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(
                depends_on=[self.log_group, *cluster_grants])))
        # The group EKS creates with the cluster: an output of the cluster, unknown until the cluster exists. Read
        # it through the cluster's id so a first preview sees it as what it is (unknown, from the cluster) and not
        # as an absent value, which would drop it, and the dependency on the cluster, from every input it feeds.
        self.cluster_security_group_id: pulumi.Output[str] = pulumi.Output.all(
            self.cluster.id, self.cluster.vpc_config.cluster_security_group_id).apply(lambda v: v[1])
        # Children of the cluster would inherit its `protect`; node groups and add-ons must stay replaceable.
        cluster_opts = child

        self.admin_access = self._admin_access(cluster_opts)
        self.node_role, node_grants = service_role(
            f"{args.short_code}-eks-nodes", role_name=f"{args.cluster_name}-eks-nodes", service="ec2.amazonaws.com",
            # Only what kubelet needs to join and pull images; the CNI's rights go to its own pod role.
            managed_policies=("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"),
            partition=args.partition, opts=child)
        self.addons: dict[str, aws.eks.Addon] = {}
        cni_role, cni_grants = pod_role(self.ref, "vpc-cni", managed_policies=("AmazonEKS_CNI_Policy",), opts=child)
        self._addon("vpc-cni", {
            "env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"},
            "enableNetworkPolicy": "true",
        }, identity=("aws-node", cni_role), opts=pulumi.ResourceOptions(parent=self, depends_on=cni_grants))
        self._addon("kube-proxy", None, opts=cluster_opts)
        self._addon("eks-pod-identity-agent", None, opts=cluster_opts)

        self.node_security_groups: dict[str, aws.ec2.SecurityGroup] = {}
        self.launch_templates: dict[str, aws.ec2.LaunchTemplate] = {}
        self.node_groups: dict[str, aws.eks.NodeGroup] = {}
        before_nodes = [self.addons[n] for n in ADDONS_BEFORE_NODES]
        for group in args.node_groups:
            self._node_group(group, depends_on=[*node_grants, *before_nodes], opts=cluster_opts)

        system = f"{args.short_code}-system"
        on_system = {"tolerations": [CRITICAL_TOLERATION], "nodeSelector": {"eks.amazonaws.com/nodegroup": system}}
        nodes = list(self.node_groups.values())
        self._addon("coredns", on_system, opts=pulumi.ResourceOptions(parent=self, depends_on=nodes))
        ebs_role, ebs_grants = pod_role(self.ref, "ebs-csi", managed_policies=(
            "service-role/AmazonEBSCSIDriverPolicy",), opts=child)
        # The node plugin must run everywhere volumes can attach, the system nodes included.
        self._addon("aws-ebs-csi-driver", {"controller": on_system, "node": {"tolerateAllTaints": True}},
                    identity=("ebs-csi-controller-sa", ebs_role),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[*nodes, *ebs_grants]))

        self.name = self.cluster.name
        self.certificate_authority = self.cluster.certificate_authority.data
        self.endpoint = self.cluster.endpoint
        self.register_outputs({"name": self.name, "arn": self.cluster.arn, "endpoint": self.endpoint,
                               "clusterSecurityGroupId": self.cluster_security_group_id})

    # -- pieces ---------------------------------------------------------------------------------------

    def _admin_access(self, opts: pulumi.ResourceOptions) -> aws.eks.AccessPolicyAssociation:
        """Cluster-admin for the stack's admin role through an access entry (no aws-auth ConfigMap)."""
        a = self.args
        entry = aws.eks.AccessEntry(f"{a.short_code}-admin", cluster_name=self.cluster.name,
                                    principal_arn=a.admin_role_arn, type="STANDARD", opts=opts)
        return aws.eks.AccessPolicyAssociation(
            f"{a.short_code}-admin", cluster_name=self.cluster.name, principal_arn=entry.principal_arn,
            policy_arn=CLUSTER_ADMIN_POLICY,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=entry))

    def _addon(self, addon: str, config: dict[str, Any] | None, *, opts: pulumi.ResourceOptions,
               identity: tuple[str, aws.iam.Role] | None = None) -> None:
        a = self.args
        self.addons[addon] = aws.eks.Addon(
            f"{a.short_code}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=a.addon_versions[addon],
            configuration_values=json.dumps(config, sort_keys=True) if config else None,
            # The program owns the add-on's configuration: drift made by hand is overwritten on `pulumi up`.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                service_account=identity[0], role_arn=identity[1].arn)] if identity else None,
            opts=opts)

    def _node_group(self, group: NodeGroup, *, depends_on: list[pulumi.Resource],
                    opts: pulumi.ResourceOptions) -> None:
        a = self.args
        label = f"{a.short_code}-{group.name}"
        sg = aws.ec2.SecurityGroup(
            f"{label}-nodes", vpc_id=a.vpc_id, name=f"{a.cluster_name}-{group.name}-nodes",
            description=f"EKS nodes of group {group.name}; data tiers admit traffic by this group",
            # Nodes reach AWS APIs, images and data tiers; node-to-node and control-plane traffic is allowed
            # by the cluster security group every node also carries.
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"],
                                                    description="all outbound")],
            tags={"Name": f"{a.cluster_name}-{group.name}-nodes", "node-group": group.name}, opts=opts)
        template = aws.ec2.LaunchTemplate(
            label,
            name=f"{a.cluster_name}-{group.name}",
            description=f"EKS managed node group {group.name}",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required",
                # Hop limit 1: pods cannot reach the node's instance credentials; they use Pod Identity.
                http_put_response_hop_limit=1, instance_metadata_tags="disabled"),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=group.disk_gib, volume_type="gp3", encrypted="true", kms_key_id=a.ebs_key_arn,
                    delete_on_termination="true"))],
            vpc_security_group_ids=[self.cluster_security_group_id, sg.id],
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=kind, tags={"Name": f"{a.cluster_name}-{group.name}", "node-group": group.name})
                for kind in ("instance", "volume", "network-interface")],
            opts=opts)
        self.node_security_groups[group.name] = sg
        self.launch_templates[group.name] = template
        self.node_groups[group.name] = aws.eks.NodeGroup(
            label,
            cluster_name=self.cluster.name,
            node_group_name=label,
            version=a.kubernetes_version,
            node_role_arn=self.node_role.arn,
            subnet_ids=list(a.private_subnet_ids),
            ami_type=AMI_TYPE,
            capacity_type="ON_DEMAND",
            instance_types=list(group.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=NODE_UPDATE_MAX_UNAVAILABLE_PERCENT),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            labels=dict(group.labels),
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=t.effect)
                    for t in group.taints],
            # The cluster autoscaler owns the current size; `pulumi up` must not reset it to desired_size.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=depends_on, ignore_changes=["scalingConfig.desiredSize"])))


def kubeconfig(cluster_name: str, region: str, endpoint: pulumi.Input[str],
               certificate_authority: pulumi.Input[str]) -> pulumi.Output[str]:
    """A kubeconfig whose token comes from `aws eks get-token` with the deploy's own credentials.

    The cluster stack runs on the region's in-VPC runner, whose role holds an access entry on the cluster;
    run by hand, the caller's credentials need one too (assume adminRoleArn first).
    """
    return pulumi.Output.all(endpoint, certificate_authority).apply(lambda values: json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": values[0], "certificate-authority-data": values[1]}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
            "interactiveMode": "Never",
        }}}],
    }))
