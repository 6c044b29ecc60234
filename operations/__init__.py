"""Operator tools run against the real account with boto3: `make preflight` before `pulumi up`, `make verify` after.

They read the same manifests and stack files as the program, never import Pulumi's engine, and exit 0 (all
good), 1 (findings: a quota shortfall, a drifted resource) or 2 (bad input or unusable credentials).
"""
