"""Where a region's alarms go: a KMS-encrypted SNS topic, subscribed by the on-call email(s) and endpoint.

Also the alarm builders: one CloudWatch alarm per failure signal of each data resource (of each whole group,
for the Metrics Insights query alarms), each routed to the topic of the region the resource lives in (alarms
and their topic must share a region).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AlertTopicArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    emails: Sequence[str]
    webhook_url: pulumi.Input[str] | None  # an HTTPS on-call endpoint (PagerDuty, Opsgenie, ...): a secret
    key_arn: pulumi.Input[str]  # the topic's key (RegionKeys.alerts: CloudWatch may publish with it)
    protect: bool
    partition: str = "aws"


class AlertTopic(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:observability:AlertTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{args.short_code}-alerts", name=f"{args.environment}-{args.short_code}-alerts",
            display_name=f"{args.environment} {args.region} alerts", kms_master_key_id=args.key_arn, opts=child)
        aws.sns.TopicPolicy(
            f"{args.short_code}-alerts", arn=self.topic.arn,
            policy=self.topic.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "CloudWatchAlarmsOfThisAccount", "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}}}, {
                # AWS Backup's vault notifications (failed backups and copies, restores).
                "Sid": "BackupNotificationsOfThisAccount", "Effect": "Allow",
                "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sns:Publish", "Resource": arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}}}]})),
            opts=pulumi.ResourceOptions(parent=self.topic))
        sub_opts = pulumi.ResourceOptions(parent=self.topic)
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{args.short_code}-alerts-email-{index}", topic=self.topic.arn,
                                      protocol="email", endpoint=email, opts=sub_opts)
        if args.webhook_url:
            aws.sns.TopicSubscription(f"{args.short_code}-alerts-oncall", topic=self.topic.arn, protocol="https",
                                      endpoint=args.webhook_url, endpoint_auto_confirms=True, opts=sub_opts)
        self.arn = self.topic.arn
        self.register_outputs({"topicArn": self.arn})


@dataclass(frozen=True)
class Signal:
    """One alarm: a metric, how it is aggregated, and when it pages."""

    suffix: str  # distinguishes the alarm's name, e.g. "cpu"
    namespace: str
    metric: str
    dimensions: dict[str, pulumi.Input[str]]
    statistic: str
    comparison: str
    threshold: float
    description: str
    period: int = 300
    evaluation_periods: int = 3


def _missing_data(comparison: str) -> str:
    # Missing data from a resource that reports continuously is itself a failure signal.
    return "breaching" if comparison.startswith("LessThan") else "notBreaching"


def alarm(name: str, alarm_name: str, signal: Signal, topic_arn: pulumi.Input[str],
          opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        f"{name}-{signal.suffix}", name=f"{alarm_name}-{signal.suffix}", namespace=signal.namespace,
        metric_name=signal.metric, dimensions=signal.dimensions, statistic=signal.statistic,
        comparison_operator=signal.comparison, threshold=signal.threshold, period=signal.period,
        evaluation_periods=signal.evaluation_periods, datapoints_to_alarm=signal.evaluation_periods,
        treat_missing_data=_missing_data(signal.comparison),
        alarm_description=signal.description, alarm_actions=[topic_arn], ok_actions=[topic_arn], opts=opts)


@dataclass(frozen=True)
class QuerySignal:
    """One alarm on a Metrics Insights query over every member of a group; each member is a contributor."""

    suffix: str
    query: str  # returns one time series per member (regions/group_alarms.py)
    label: str
    comparison: str
    threshold: float
    description: str
    period: int
    evaluation_periods: int


def query_alarm(name: str, alarm_name: str, signal: QuerySignal, topic_arn: pulumi.Input[str],
                opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
    """The query carries the period: an alarm on queries sets no namespace, metric, statistic or period."""
    return aws.cloudwatch.MetricAlarm(
        f"{name}-{signal.suffix}", name=f"{alarm_name}-{signal.suffix}",
        metric_queries=[aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="q1", expression=signal.query, label=signal.label, period=signal.period, return_data=True)],
        comparison_operator=signal.comparison, threshold=signal.threshold,
        evaluation_periods=signal.evaluation_periods, datapoints_to_alarm=signal.evaluation_periods,
        treat_missing_data=_missing_data(signal.comparison),
        alarm_description=signal.description, alarm_actions=[topic_arn], ok_actions=[topic_arn], opts=opts)
