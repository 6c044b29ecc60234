"""The regional ingress: an internet-facing NLB that only Cloudflare can reach, bound to the edge gateway.

Cloudflare terminates users' TLS and opens its own TLS connection to this region's NLB hostname (the pool
origin). The NLB passes TCP 443 through to the gateway pods on 8443 in the ``ingress`` namespace; no other
source on the internet gets a SYN-ACK. The gateway behind it (the ``edge-gateway`` Service, port 8443) is
platform infrastructure of each cluster stack: components/edge_gateway.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

LISTENER_PORT = 443
GATEWAY_PORT = 8443  # unprivileged: the gateway runs as non-root under the restricted Pod Security Standard;
# both the edge-gateway Service's port and its pods' container port (the target group registers pod IPs)
GATEWAY_NAMESPACE = "ingress"
GATEWAY_SERVICE = "edge-gateway"


@dataclass(frozen=True)
class IngressArgs:
    environment: str
    short_code: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    workloads_security_group_id: pulumi.Input[str]  # the nodes the gateway pods run on
    cloudflare_ipv4: Sequence[str]  # Cloudflare's published ranges; the NLB is IPv4-only
    protect: bool


class RegionalIngress(pulumi.ComponentResource):
    def __init__(self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:ingress:RegionalIngress", name, None, opts)
        prefix = f"{args.environment}-{args.short_code}-edge"
        child = pulumi.ResourceOptions(parent=self)
        if not args.cloudflare_ipv4:
            raise ValueError("Cloudflare returned no IPv4 ranges; refusing to build an ingress nobody can reach")

        # A prefix list keeps the ranges in one place: when Cloudflare publishes a change, one resource
        # updates in place and every rule that references it follows.
        self.cloudflare_prefix_list = aws.ec2.ManagedPrefixList(
            f"{args.short_code}-cloudflare-ipv4", name=f"{args.environment}-cloudflare-ipv4", address_family="IPv4",
            max_entries=len(args.cloudflare_ipv4) + 5,
            entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr=cidr, description="Cloudflare")
                     for cidr in sorted(args.cloudflare_ipv4)],
            tags={"Name": f"{args.environment}-cloudflare-ipv4"}, opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{args.short_code}-edge-nlb", name=prefix, vpc_id=args.vpc_id,
            description="Edge NLB: HTTPS from Cloudflare only, to the gateway pods only",
            tags={"Name": prefix}, opts=child)
        sg_opts = pulumi.ResourceOptions(parent=self.security_group)
        aws.vpc.SecurityGroupIngressRule(
            f"{args.short_code}-edge-from-cloudflare", security_group_id=self.security_group.id,
            ip_protocol="tcp", from_port=LISTENER_PORT, to_port=LISTENER_PORT,
            prefix_list_id=self.cloudflare_prefix_list.id, description="HTTPS from Cloudflare", opts=sg_opts)
        aws.vpc.SecurityGroupEgressRule(
            f"{args.short_code}-edge-to-gateway", security_group_id=self.security_group.id,
            ip_protocol="tcp", from_port=GATEWAY_PORT, to_port=GATEWAY_PORT,
            referenced_security_group_id=args.workloads_security_group_id,
            description="to the edge gateway pods (traffic and health checks)", opts=sg_opts)
        aws.vpc.SecurityGroupIngressRule(
            f"{args.short_code}-gateway-from-edge", security_group_id=args.workloads_security_group_id,
            ip_protocol="tcp", from_port=GATEWAY_PORT, to_port=GATEWAY_PORT,
            referenced_security_group_id=self.security_group.id, description="from the edge NLB", opts=sg_opts)

        self.load_balancer = aws.lb.LoadBalancer(
            f"{args.short_code}-edge", name=prefix, load_balancer_type="network", internal=False,
            ip_address_type="ipv4", subnets=list(args.public_subnet_ids), security_groups=[self.security_group.id],
            enable_cross_zone_load_balancing=True,
            enforce_security_group_inbound_rules_on_private_link_traffic="on",
            enable_deletion_protection=args.protect,
            tags={"Name": prefix}, opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{args.short_code}-edge-gateway", name=prefix, vpc_id=args.vpc_id, target_type="ip",
            protocol="TCP", port=GATEWAY_PORT,
            # Client IP preservation on: without it an NLB holds at most about 55,000 simultaneous connections
            # per target (IP and port), which caps a region's WebSockets far below its demand (docs/capacity.md).
            # The targets' rule references the NLB's security group, which admits its traffic either way
            # (ELB guide, "Update the security groups for your Network Load Balancer").
            preserve_client_ip="true",
            deregistration_delay=60, connection_termination=True,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                protocol="TCP", port="traffic-port", interval=10, healthy_threshold=3, unhealthy_threshold=3),
            tags={"Name": prefix}, opts=child)
        self.listener = aws.lb.Listener(
            f"{args.short_code}-edge-https", load_balancer_arn=self.load_balancer.arn, port=LISTENER_PORT,
            protocol="TCP",  # TLS passes through: the gateway holds the origin certificate
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward",
                                                              target_group_arn=self.target_group.arn)],
            opts=pulumi.ResourceOptions(parent=self.load_balancer))
        self.hostname = self.load_balancer.dns_name
        self.register_outputs({"hostname": self.hostname})


def bind_gateway(short_code: str, target_group_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """Register the gateway Service's pods in the NLB's target group (the Load Balancer Controller does it).

    Made by the cluster stack; security group rules stay in the infra stack, so the binding asks the
    controller to manage none.
    """
    return k8s.apiextensions.CustomResource(
        f"{short_code}-edge-gateway-binding",
        api_version="elbv2.k8s.aws/v1beta1",
        kind="TargetGroupBinding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_SERVICE, namespace=GATEWAY_NAMESPACE),
        spec={
            # The Service's port: components/edge_gateway.py's Gateway listener, which Envoy Gateway exposes as
            # Service port 8443 -> container port 8443 (ports >= 1024 are not shifted).
            "serviceRef": {"name": GATEWAY_SERVICE, "port": GATEWAY_PORT},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
        },
        opts=opts)
