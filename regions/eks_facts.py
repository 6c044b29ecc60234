"""EKS facts: pods a node can run (checked 2026-11).

- vCPUs of a Graviton size: large 2, xlarge 4, then 4 per "xlarge" multiple (EC2 instance types guide; m7g,
  m8g, c7g, r7g share the scheme).
- Pods per node with VPC CNI prefix delegation (on in every cluster, components/eks.py): the ENI formula
  gives more than the kubelet should run, so EKS caps it at 110 on nodes with at most 30 vCPUs and 250 above
  (awslabs/amazon-eks-ami max-pods-calculator.sh; EKS user guide "cni-increase-ip-addresses").
"""

from __future__ import annotations

import re

MAX_PODS_SMALL, MAX_PODS_LARGE, LARGE_NODE_VCPUS = 110, 250, 30


def vcpus(instance_type: str) -> int:
    size = instance_type.split(".", 1)[1]
    if size in ("medium", "large"):
        return 1 if size == "medium" else 2
    match = re.fullmatch(r"(\d*)xlarge", size)
    if not match:
        raise ValueError(f"{instance_type}: size {size!r} has no known vCPU count")
    return 4 * int(match.group(1) or 1)


def max_pods(instance_type: str) -> int:
    return MAX_PODS_LARGE if vcpus(instance_type) > LARGE_NODE_VCPUS else MAX_PODS_SMALL
