"""Facts about AWS and Cloudflare that the manifest is checked against.

Sources: AWS Regions and Availability Zones (docs.aws.amazon.com/global-infrastructure), the AZ-ID
convention (``<short code>-az<n>``), the EKS user guide's list of AZ IDs that cannot host cluster
control-plane ENIs, and Cloudflare's load-balancing Regions API. Checked 2026-11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class AwsRegion:
    name: str
    short_code: str
    partition: str = "aws"


# Commercial AWS regions and the short code AWS itself uses as their AZ-ID prefix.
AWS_REGIONS: dict[str, AwsRegion] = {
    r.name: r
    for r in (
        AwsRegion("us-east-1", "use1"),
        AwsRegion("us-east-2", "use2"),
        AwsRegion("us-west-1", "usw1"),
        AwsRegion("us-west-2", "usw2"),
        AwsRegion("ca-central-1", "cac1"),
        AwsRegion("ca-west-1", "caw1"),
        AwsRegion("mx-central-1", "mxc1"),
        AwsRegion("sa-east-1", "sae1"),
        AwsRegion("eu-west-1", "euw1"),
        AwsRegion("eu-west-2", "euw2"),
        AwsRegion("eu-west-3", "euw3"),
        AwsRegion("eu-central-1", "euc1"),
        AwsRegion("eu-central-2", "euc2"),
        AwsRegion("eu-north-1", "eun1"),
        AwsRegion("eu-south-1", "eus1"),
        AwsRegion("eu-south-2", "eus2"),
        AwsRegion("il-central-1", "ilc1"),
        AwsRegion("me-south-1", "mes1"),
        AwsRegion("me-central-1", "mec1"),
        AwsRegion("af-south-1", "afs1"),
        AwsRegion("ap-east-1", "ape1"),
        AwsRegion("ap-east-2", "ape2"),
        AwsRegion("ap-south-1", "aps1"),
        AwsRegion("ap-south-2", "aps2"),
        AwsRegion("ap-southeast-1", "apse1"),
        AwsRegion("ap-southeast-2", "apse2"),
        AwsRegion("ap-southeast-3", "apse3"),
        AwsRegion("ap-southeast-4", "apse4"),
        AwsRegion("ap-southeast-5", "apse5"),
        AwsRegion("ap-southeast-7", "apse7"),
        AwsRegion("ap-northeast-1", "apne1"),
        AwsRegion("ap-northeast-2", "apne2"),
        AwsRegion("ap-northeast-3", "apne3"),
    )
}

# Graviton families end in "g" plus optional capability letters: m7g, c7gn, r8gd, im4gn, is4gen, hpc7g.
_GRAVITON_FAMILY = re.compile(r"^[a-z]+[0-9]+g[a-z]*$")


def is_graviton(instance_type: str) -> bool:
    """True for arm64 (Graviton) EC2 types such as m7g.xlarge; False for x86 types such as m7i.xlarge."""
    return bool(_GRAVITON_FAMILY.match(instance_type.split(".", 1)[0]))


# AZ IDs where EKS cannot place control-plane network interfaces (EKS user guide, "Cluster VPC and
# subnet requirements"). The network never picks them, so the same subnets serve EKS later.
EKS_UNSUPPORTED_AZ_IDS: frozenset[str] = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})

# Cloudflare load-balancing region codes (Regions API; cloudflare-typescript ``regions.ts``).
CLOUDFLARE_REGION_CODES: dict[str, str] = {
    "WNAM": "Western North America",
    "ENAM": "Eastern North America",
    "WEU": "Western Europe",
    "EEU": "Eastern Europe",
    "NSAM": "Northern South America",
    "SSAM": "Southern South America",
    "OC": "Oceania",
    "ME": "Middle East",
    "NAF": "Northern Africa",
    "SAF": "Southern Africa",
    "SAS": "Southern Asia",
    "SEAS": "South East Asia",
    "NEAS": "North East Asia",
}

# Aurora Global Database: a primary cluster holds at most 15 - s read replicas, s = secondary regions
# (AuroraUserGuide, aurora-global-database configuration requirements).
AURORA_MAX_REPLICAS = 15
