"""CloudWatch limits the group alarms are held to (Amazon CloudWatch user guide and API reference, checked 2026-12).

- "CloudWatch service quotas": Number of Metrics Insights alarms, 200 per account in each Region, not
  adjustable (the table marks it "No"; older pages said an increase could be requested).
- "Limits" (alarms on Metrics Insights queries): a query returns at most 500 time series and processes at most
  10,000 metrics (past either the alarm evaluates with PARTIAL_DATA: some members go unwatched); an alarm on a
  query that returns several time series keeps at most 100 of them (its contributors) in ALARM at once.
- "Metrics Insights query components and syntax": WHERE compares a label with = or != and joins conditions with
  AND; there is no LIKE, IN or prefix match, so a query selects members by exact label values only. The
  CloudWatch API's MetricDataQuery.Expression holds at most 2,048 characters, too few to list hundreds of nodes.
"""

from __future__ import annotations

METRICS_INSIGHTS_ALARMS_PER_REGION = 200
SERIES_PER_QUERY = 500
METRICS_PER_QUERY = 10_000
CONTRIBUTORS_IN_ALARM = 100
EXPRESSION_CHARACTERS = 2048
