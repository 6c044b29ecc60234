"""What more than one layer needs: the shard group's shared settings and Cloudflare's published ranges."""

from __future__ import annotations

import pulumi_cloudflare as cloudflare

from components.aurora import MemberSpec
from regions.schema import Manifest
from regions.shards import ShardGroup


def member_spec(manifest: Manifest, group: ShardGroup) -> MemberSpec:
    """Every member of a shard group takes its home region's Aurora settings, wherever it runs."""
    aurora = manifest.region(group.home_region).aurora
    return MemberSpec(environment=manifest.environment, group_id=group.id, engine_version=aurora.engine_version,
                      instance_class=aurora.instance_class, backup_retention_days=aurora.backup_retention_days,
                      log_retention_days=aurora.log_retention_days, alarms=manifest.alarms,
                      protect=manifest.protected)


def cloudflare_ipv4() -> list[str]:
    """Cloudflare's published IPv4 ranges: the only sources a regional ingress admits."""
    return sorted(cloudflare.get_ip_ranges().ipv4_cidrs or [])
