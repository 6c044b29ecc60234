"""PgBouncer on one region's EKS cluster: the only way applications reach the shard groups' databases.

Pods run alone on the tainted ``pgbouncer`` node group (whose security group is the one Aurora admits),
spread over the AZs, non-root on a read-only root filesystem, with a Prometheus exporter beside them.
``pgbouncer.ini`` is generated from this region's published shard map (regions/pgbouncer_ini.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.database_users import APP_USER, DatabaseLogins
from regions import pgbouncer_ini
from regions.pgbouncer_ini import PoolSettings
from regions.published_map import PGBOUNCER_HOST, PGBOUNCER_PORT

NAMESPACE = "data"
CLIENT_NAMESPACES = ("apps",)
MONITORING_NAMESPACE = "monitoring"
EXPORTER_PORT = 9127
# Voluntary disruptions (drains) take one pod at a time; a rollout adds pods before it removes any, so the
# pools never shrink below what the autoscaler asked for.
DISRUPTION_MAX_UNAVAILABLE = 1
ROLLOUT_MAX_UNAVAILABLE = 0
ROLLOUT_MAX_SURGE = "25%"
LABELS = {"app.kubernetes.io/name": "pgbouncer", "app.kubernetes.io/part-of": "global-platform"}
LEAF_VALIDITY_HOURS = 365 * 24


@dataclass(frozen=True)
class Images:
    pgbouncer: str
    exporter: str
    user_id: int  # the non-root user both images run as


@dataclass(frozen=True)
class PgBouncerArgs:
    environment: str
    short_code: str
    published_map: pulumi.Input[dict[str, Any]]
    pools: PoolSettings
    min_replicas: int
    max_replicas: int
    node_group: str  # EKS node group name the pods are pinned to
    data_subnet_cidrs: Sequence[str]  # where the Aurora instances live: PgBouncer's only egress besides DNS
    rds_ca_bundle: str
    users: DatabaseLogins
    images: Images


class PgBouncer(pulumi.ComponentResource):
    def __init__(self, name: str, args: PgBouncerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:PgBouncer", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{args.short_code}-pgbouncer"

        self.ini: pulumi.Output[str] = pulumi.Output.from_input(args.published_map).apply(
            lambda published: pgbouncer_ini.render(published, args.pools))
        self.config = k8s.core.v1.ConfigMap(
            f"{prefix}-config", metadata=self._meta("pgbouncer-config"), data={"pgbouncer.ini": self.ini}, opts=child)
        self.ca_bundle = k8s.core.v1.ConfigMap(
            f"{prefix}-rds-ca", metadata=self._meta("rds-ca"), data={"rds-ca.pem": args.rds_ca_bundle}, opts=child)
        self.auth = k8s.core.v1.Secret(
            f"{prefix}-auth", metadata=self._meta("pgbouncer-auth"), string_data={"userlist.txt": args.users.userlist},
            opts=child)
        self.exporter_secret = k8s.core.v1.Secret(
            f"{prefix}-exporter", metadata=self._meta("pgbouncer-exporter"),
            string_data={"connection-string": args.users.passwords[pgbouncer_ini.STATS_USER].apply(
                lambda password: f"postgres://{pgbouncer_ini.STATS_USER}:{password}@127.0.0.1:{PGBOUNCER_PORT}"
                                 "/pgbouncer?sslmode=require")},
            opts=child)
        self.tls = self._client_tls(prefix, child)
        account = k8s.core.v1.ServiceAccount(
            prefix, metadata=self._meta("pgbouncer"), automount_service_account_token=False, opts=child)

        self.deployment = self._deployment(prefix, account, child)
        self.service = k8s.core.v1.Service(
            prefix, metadata=self._meta("pgbouncer"),
            spec=k8s.core.v1.ServiceSpecArgs(type="ClusterIP", selector=LABELS, ports=[
                k8s.core.v1.ServicePortArgs(name="postgres", port=PGBOUNCER_PORT, target_port="postgres"),
                k8s.core.v1.ServicePortArgs(name="metrics", port=EXPORTER_PORT, target_port="metrics"),
            ]), opts=child)
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            prefix, metadata=self._meta("pgbouncer"),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=DISRUPTION_MAX_UNAVAILABLE,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=LABELS)), opts=child)
        self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            prefix, metadata=self._meta("pgbouncer"),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name="pgbouncer"),
                min_replicas=args.min_replicas, max_replicas=args.max_replicas,
                metrics=[k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource", resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=60)))],
                behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                    scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(stabilization_window_seconds=600))),
            opts=child)
        self.network_policies = self._network_policies(prefix, child)
        self.register_outputs({"host": PGBOUNCER_HOST, "port": PGBOUNCER_PORT})

    # -- pieces ---------------------------------------------------------------------------------------

    @staticmethod
    def _meta(name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, labels=LABELS)

    def _client_tls(self, prefix: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        """A server certificate for the Service's names, signed by the platform's PgBouncer CA."""
        users = self.args.users
        key = tls.PrivateKey(f"{prefix}-tls", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        names = ["pgbouncer", f"pgbouncer.{NAMESPACE}", f"pgbouncer.{NAMESPACE}.svc", PGBOUNCER_HOST]
        request = tls.CertRequest(f"{prefix}-tls", private_key_pem=key.private_key_pem, dns_names=names,
                                  subject=tls.CertRequestSubjectArgs(common_name=PGBOUNCER_HOST), opts=opts)
        cert = tls.LocallySignedCert(
            f"{prefix}-tls", cert_request_pem=request.cert_request_pem, ca_cert_pem=users.ca_cert_pem,
            ca_private_key_pem=users.ca_key_pem, validity_period_hours=LEAF_VALIDITY_HOURS,
            early_renewal_hours=30 * 24, allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=opts)
        return k8s.core.v1.Secret(f"{prefix}-tls", metadata=self._meta("pgbouncer-tls"), type="kubernetes.io/tls",
                                  string_data={"tls.crt": cert.cert_pem, "tls.key": key.private_key_pem}, opts=opts)

    def _deployment(self, prefix: str, account: k8s.core.v1.ServiceAccount,
                    opts: pulumi.ResourceOptions) -> k8s.apps.v1.Deployment:
        args = self.args
        restricted = k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]))
        probe = k8s.core.v1.ProbeArgs(tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="postgres"),
                                      period_seconds=10, failure_threshold=3)
        mounts = [
            k8s.core.v1.VolumeMountArgs(name="config", mount_path=pgbouncer_ini.INI_PATH.rsplit("/", 1)[0],
                                        read_only=True),
            k8s.core.v1.VolumeMountArgs(name="auth", mount_path=pgbouncer_ini.AUTH_FILE.rsplit("/", 1)[0],
                                        read_only=True),
            k8s.core.v1.VolumeMountArgs(name="rds-ca", mount_path=pgbouncer_ini.SERVER_CA_FILE.rsplit("/", 1)[0],
                                        read_only=True),
            k8s.core.v1.VolumeMountArgs(name="tls", mount_path=pgbouncer_ini.CLIENT_TLS_CERT.rsplit("/", 1)[0],
                                        read_only=True),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
        ]
        pgbouncer = k8s.core.v1.ContainerArgs(
            # PgBouncer itself as PID 1, so it receives SIGTERM from the kubelet.
            name="pgbouncer", image=args.images.pgbouncer, command=["/usr/bin/pgbouncer"],
            args=[pgbouncer_ini.INI_PATH],
            ports=[k8s.core.v1.ContainerPortArgs(name="postgres", container_port=PGBOUNCER_PORT)],
            resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "500m", "memory": "256Mi"},
                                                           limits={"cpu": "1", "memory": "512Mi"}),
            readiness_probe=probe, liveness_probe=probe, security_context=restricted, volume_mounts=mounts)
        # The exporter answers on its metrics port or is restarted (a wedged exporter silences the pool alarms).
        metrics_probe = k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/", port="metrics"),
                                              period_seconds=10, failure_threshold=3)
        exporter = k8s.core.v1.ContainerArgs(
            name="exporter", image=args.images.exporter,
            args=["--pgBouncer.connectionString=$(PGBOUNCER_CONNECTION_STRING)",
                  f"--web.listen-address=:{EXPORTER_PORT}"],
            env=[k8s.core.v1.EnvVarArgs(name="PGBOUNCER_CONNECTION_STRING", value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name="pgbouncer-exporter", key="connection-string")))],
            ports=[k8s.core.v1.ContainerPortArgs(name="metrics", container_port=EXPORTER_PORT)],
            resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "50m", "memory": "32Mi"},
                                                           limits={"cpu": "200m", "memory": "64Mi"}),
            readiness_probe=metrics_probe, liveness_probe=metrics_probe, security_context=restricted)
        spread = [
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1, topology_key=key, when_unsatisfiable=mode,
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=LABELS))
            for key, mode in (("topology.kubernetes.io/zone", "DoNotSchedule"),
                              ("kubernetes.io/hostname", "ScheduleAnyway"))]
        # A changed pgbouncer.ini or userlist rolls the pods: PgBouncer reads both only at start (or RELOAD).
        # The digest of salted verifiers reveals nothing, and keeping it secret would hide the whole pod spec.
        checksum = pulumi.Output.unsecret(pulumi.Output.all(self.ini, args.users.userlist).apply(
            lambda parts: hashlib.sha256("\x00".join(parts).encode()).hexdigest()))
        return k8s.apps.v1.Deployment(
            prefix, metadata=self._meta("pgbouncer"),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.min_replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=LABELS),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_unavailable=ROLLOUT_MAX_UNAVAILABLE, max_surge=ROLLOUT_MAX_SURGE)),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=LABELS,
                                                        annotations={"platform/config-sha256": checksum}),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=account.metadata.name,
                        automount_service_account_token=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=args.images.user_id, run_as_group=args.images.user_id,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                        node_selector={"eks.amazonaws.com/nodegroup": args.node_group},
                        tolerations=[k8s.core.v1.TolerationArgs(key="dedicated", operator="Equal", value="pgbouncer",
                                                                effect="NoSchedule")],
                        topology_spread_constraints=spread,
                        termination_grace_period_seconds=60,
                        containers=[pgbouncer, exporter],
                        volumes=[
                            k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                name="pgbouncer-config")),
                            k8s.core.v1.VolumeArgs(name="auth", secret=k8s.core.v1.SecretVolumeSourceArgs(
                                secret_name="pgbouncer-auth", default_mode=0o440)),
                            k8s.core.v1.VolumeArgs(name="rds-ca", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                name="rds-ca")),
                            k8s.core.v1.VolumeArgs(name="tls", secret=k8s.core.v1.SecretVolumeSourceArgs(
                                secret_name="pgbouncer-tls", default_mode=0o440)),
                            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                                medium="Memory", size_limit="16Mi")),
                        ]))),
            # The autoscaler owns the replica count once the Deployment exists.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=[self.config, self.ca_bundle, self.auth, self.exporter_secret, self.tls],
                ignore_changes=["spec.replicas"])))

    def _network_policies(self, prefix: str, opts: pulumi.ResourceOptions) -> list[k8s.networking.v1.NetworkPolicy]:
        """On top of the namespace's default deny: clients in, metrics scrapes in, Aurora out."""
        selector = k8s.meta.v1.LabelSelectorArgs(match_labels=LABELS)

        def namespace(name: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
            return k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={"kubernetes.io/metadata.name": name}))

        def port(number: int) -> k8s.networking.v1.NetworkPolicyPortArgs:
            return k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=number)

        ingress = k8s.networking.v1.NetworkPolicy(
            f"{prefix}-ingress", metadata=self._meta("pgbouncer-ingress"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=selector, policy_types=["Ingress"], ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[namespace(ns) for ns in CLIENT_NAMESPACES], ports=[port(PGBOUNCER_PORT)]),
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[namespace(MONITORING_NAMESPACE)], ports=[port(EXPORTER_PORT)]),
            ]), opts=opts)
        egress = k8s.networking.v1.NetworkPolicy(
            f"{prefix}-egress", metadata=self._meta("pgbouncer-to-aurora"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=selector, policy_types=["Egress"], egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                        for cidr in self.args.data_subnet_cidrs],
                    ports=[port(pgbouncer_ini.POSTGRES_PORT)]),
            ]), opts=opts)
        return [ingress, egress]


def app_connection_secret(short_code: str, users: DatabaseLogins, ca_pem: pulumi.Input[str],
                          opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    """What applications in the apps namespace mount: the login and the CA that signed PgBouncer's certificate."""
    return k8s.core.v1.Secret(
        f"{short_code}-database-credentials",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="database-credentials", namespace=CLIENT_NAMESPACES[0]),
        string_data={"username": APP_USER, "password": users.passwords[APP_USER], "ca.crt": ca_pem,
                     "host": PGBOUNCER_HOST, "port": str(PGBOUNCER_PORT), "sslmode": "verify-full"},
        opts=opts)
