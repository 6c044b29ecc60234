"""`make preflight`: will the account's quotas hold what the plan needs? Run it before `pulumi up`.

After the AWS quotas, a Cloudflare section (operations/cloudflare_check.py) checks the environment's zone: its plan
and add-ons against what the edge builds, and entry point rulesets that already exist (skipped when
``CLOUDFLARE_API_TOKEN`` is unset).

Per region of the stack's manifest: every quota the plan consumes, its value (Service Quotas' applied value,
else AWS's default, else the documented default of regions/service_quotas.py), what other workloads already
use, and what the stack needs. The stack's own resources (tagged ``project``/``environment`` by the program's
providers) are shown but not counted, so a re-run after a deploy does not count them twice.

Exit codes: 0 every quota holds and the zone is fit; 1 at least one shortfall (each printed with the increase request
to file) or Cloudflare finding; 2 bad input (stack, manifest) or unusable credentials or token, with one message.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import boto3
from rich.console import Console
from rich.table import Table

from operations import cloudflare_check, offerings
from operations.quota_values import QuotaValue, quota_value
from operations.stack import AWS_ERRORS, EXIT_FINDINGS, EXIT_OK, OperatorError, aws_session, console, fail, load_target
from operations.usage import Usage, UsageReader
from regions.quota_needs import Need, region_needs
from regions.schema import Manifest

SCOPE_LABEL = {"region": "", "zone": " (busiest AZ)", "cluster": " (per cluster)"}


@dataclass(frozen=True)
class QuotaCheck:
    region: str
    need: Need
    quota: QuotaValue
    usage: Usage

    @property
    def required(self) -> int:
        """The quota value the deploy requires: other workloads' usage plus the stack's whole need."""
        return self.usage.others + self.need.amount

    @property
    def shortfall(self) -> bool:
        return self.required > self.quota.value

    def increase_command(self) -> str:
        fact = self.need.quota
        return (f"aws service-quotas request-service-quota-increase --service-code {fact.service_code} "
                f"--quota-code {fact.quota_code} --desired-value {self.required} --region {self.region}")


def check_region(reader: UsageReader, quotas_client: object, needs: list[Need]) -> list[QuotaCheck]:
    return [QuotaCheck(reader.region, need, quota_value(quotas_client, need.quota, reader.region),
                       reader.usage(need.quota)) for need in needs]


def check_all(session: boto3.Session, manifest: Manifest) -> dict[str, list[QuotaCheck]]:
    """Every region of the manifest, in its order; the first refused read stops the run, naming its region."""
    results: dict[str, list[QuotaCheck]] = {}
    for region, needs in region_needs(manifest).items():
        try:
            results[region] = check_region(UsageReader(session, region, manifest.environment),
                                           session.client("service-quotas", region_name=region), needs)
        except AWS_ERRORS as exc:
            raise OperatorError(f"AWS refused a read in {region} ({exc}); preflight needs read access to Service "
                                "Quotas, EC2, RDS, EKS, MSK and ElastiCache in every region of the stack") from None
    return results


def render_region(region: str, checks: list[QuotaCheck], out: Console) -> None:
    table = Table(title=f"{region}: quotas against the plan", title_justify="left")
    for column, justify in (("quota", "left"), ("code", "left"), ("value", "right"), ("source", "left"),
                            ("in use (others)", "right"), ("stack's own", "right"), ("plan needs", "right"),
                            ("headroom", "right"), ("", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for check in checks:
        fact = check.need.quota
        source = check.quota.origin + ("" if fact.code_confirmed else ", code unconfirmed")
        table.add_row(f"{fact.service_code}: {fact.name}{SCOPE_LABEL[fact.scope]}", fact.quota_code,
                      str(check.quota.value), source, str(check.usage.others), str(check.usage.own),
                      str(check.need.amount), str(check.quota.value - check.required),
                      "[bold red]SHORT[/bold red]" if check.shortfall else "[green]ok[/green]")
    out.print(table)


def render_shortfalls(shortfalls: list[QuotaCheck], out: Console) -> None:
    out.print(f"[bold red]{len(shortfalls)} quota shortfall(s)[/bold red]; request these increases before `pulumi up`:")
    for check in shortfalls:
        fact = check.need.quota
        out.print(f"- {check.region}: {fact.service_code} {fact.name} ({fact.quota_code}): needs {check.required} "
                  f"({check.usage.others} in use by others + {check.need.amount} for the plan), "
                  f"quota {check.quota.value} ({check.quota.origin})", markup=False, highlight=False, soft_wrap=True)
        out.print(f"  {check.increase_command()}", markup=False, highlight=False, soft_wrap=True)
        if not fact.code_confirmed:
            out.print(f"  (quota code unconfirmed: check it with `aws service-quotas list-service-quotas "
                      f"--service-code {fact.service_code} --region {check.region}` first)", markup=False,
                      highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make preflight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod", help="stack whose Pulumi.<stack>.yaml and manifest to check")
    parser.add_argument("--manifest", type=Path, help="check this manifest file instead of regions/<env>.yaml")
    args = parser.parse_args(argv)
    out = console()
    try:
        target = load_target(args.stack, args.manifest)
        session = aws_session(target)
        results = check_all(session, target.manifest)
        offers = offerings.check(session, target.manifest)
    except OperatorError as exc:
        return fail(str(exc))
    out.print(f"preflight of stack {target.stack} (account {target.account_id}, "
              f"{len(results)} regions): other workloads' usage + the plan's need against each quota")
    for region, checks in results.items():
        render_region(region, checks, out)
    # What each region offers: instance types, Aurora classes, pinned add-on versions (before the shortfalls).
    offerings.render(offers, out)
    shortfalls = [c for checks in results.values() for c in checks if c.shortfall]
    code = EXIT_FINDINGS if offerings.problems(offers) else EXIT_OK
    if shortfalls:
        render_shortfalls(shortfalls, out)
        code = EXIT_FINDINGS
    else:
        out.print("[green]every quota holds the plan[/green]")
    environment = target.manifest.environment
    if target.stack not in (environment, f"{environment}-global"):
        out.print(f"Cloudflare: not checked for {target.stack} (the zone belongs to {environment}-global)",
                  markup=False, highlight=False)
        return code
    try:
        return max(code, cloudflare_check.section(environment, out))
    except OperatorError as exc:
        return fail(str(exc))

if __name__ == "__main__":
    raise SystemExit(main())
