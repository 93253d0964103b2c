"""The event sources of an app's functions in one region, as ``chalice deploy`` wires them: EventBridge rules
(schedules and event patterns) with their target, S3 bucket notifications, SQS/Kinesis/DynamoDB event source
mappings, SNS subscriptions; each with the permission the service needs to invoke the function.

Each is read first and written only where it differs, so a second deploy makes no write call. What a deploy
made is returned as record entries (``{"kind": ..., ...}``, deploy_record.py); :meth:`EventDeployer.remove`
takes one away again (a handler removed from the app, or ``invoke delete``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..app_model import EventSource
from ..aws import clients as aws
from ..errors import DeployError
from . import permissions, roles

Entry = dict[str, Any]


@dataclass
class EventStep:
    """What happened to one event source in one region."""

    region: str
    source: EventSource
    label: str
    changed: list[str] = field(default_factory=list)  # what was (or would be) created or changed
    entries: list[Entry] = field(default_factory=list)

    def describe(self, planned: bool) -> str:
        head = f"{self.label} -> {self.source.function} [{self.region}]"
        if not self.changed:
            return f"{head}: up to date"
        return f"{head}: {'would ' if planned else ''}{', '.join(self.changed)}"


def entry_key(entry: Entry) -> str:
    """What names a recorded resource (a rule, a notification, a mapping, a subscription, a permission)."""
    return "|".join(str(entry.get(k, "")) for k in ("kind", "name", "bucket", "id", "uuid", "arn", "function", "sid"))


class EventDeployer:
    """Wires event sources to functions (``plan``: reads only); ``prefix`` is ``<app_name>-<stage>``."""

    def __init__(self, clients: aws.Clients, call: Callable[..., Any], plan: bool, prefix: str) -> None:
        self.clients, self.call, self.plan, self.prefix = clients, call, plan, prefix

    def deploy(self, region: str, source: EventSource, function_arn: str) -> EventStep:
        if source.problem:
            raise DeployError(f"cannot be wired: {source.problem}\n  lambda-tasks reads app.py without running it: "
                              "write the value as a literal (or a module-level string constant)")
        return getattr(self, f"_{source.kind}")(region, source, function_arn)  # type: ignore[no-any-return]

    def _permit(self, step: EventStep, function_arn: str, principal: str, source_arn: str,
                account: str | None = None) -> None:
        client = self.clients.lambda_(step.region)
        sid = permissions.ensure(client, self.call, function_arn, principal, source_arn, plan=self.plan,
                                 source_account=account)
        if sid is not None:
            step.changed.append(f"allow {principal.split('.')[0]} to invoke it")
        step.entries.append({"kind": "permission", "function": function_arn,
                             "sid": permissions.statement_id(principal, source_arn)})

    # -- EventBridge
    def _rule(self, region: str, source: EventSource, arn: str, label: str, **rule: str) -> EventStep:
        events = self.clients.client("events", region)
        name = f"{self.prefix}-{source.function}-event"
        step = EventStep(region, source, f"EventBridge rule {name}")
        current = self.call(events.describe_rule, f"read rule {name}", missing_ok=True, Name=name) or {}
        if any(str(current.get(k) or "") != v for k, v in rule.items()) or current.get("State") != "ENABLED":
            step.changed.append(f"{'update' if current else 'create'} the rule ({label})")
            if not self.plan:
                current = self.call(events.put_rule, f"put rule {name}", Name=name, State="ENABLED", **rule)
        rule_arn = str(current.get("Arn") or current.get("RuleArn") or "")
        targets = self.call(events.list_targets_by_rule, f"read the targets of {name}", missing_ok=True,
                            Rule=name) or {}
        if [t.get("Arn") for t in targets.get("Targets", [])] != [arn]:
            step.changed.append("point the rule at the function")
            if not self.plan:
                others = [t["Id"] for t in targets.get("Targets", []) if t.get("Arn") != arn]
                if others:
                    self.call(events.remove_targets, f"remove other targets of {name}", Rule=name, Ids=others)
                self.call(events.put_targets, f"put the target of {name}", Rule=name, Targets=[{"Id": "1", "Arn": arn}])
        step.entries.append({"kind": "rule", "name": name})
        if rule_arn:
            self._permit(step, arn, "events.amazonaws.com", rule_arn)
        return step

    def _schedule(self, region: str, source: EventSource, arn: str) -> EventStep:
        extra = {"Description": source.description} if source.description else {}
        return self._rule(region, source, arn, source.expression, ScheduleExpression=source.expression, **extra)

    def _cloudwatch_event(self, region: str, source: EventSource, arn: str) -> EventStep:
        return self._rule(region, source, arn, "event pattern", EventPattern=source.pattern)

    # -- S3
    def _s3(self, region: str, source: EventSource, arn: str) -> EventStep:
        s3 = self.clients.s3(region)
        ident = f"{self.prefix}-{source.function}-s3event"
        step = EventStep(region, source, f"S3 notification {source.bucket}")
        self._permit(step, arn, "s3.amazonaws.com", f"arn:{permissions.partition_of(arn)}:s3:::{source.bucket}",
                     permissions.account_of(arn))
        config = self.call(s3.get_bucket_notification_configuration, f"read the notifications of {source.bucket}",
                           Bucket=source.bucket)
        config = {k: v for k, v in config.items() if k != "ResponseMetadata"}
        rules = [{"Name": n, "Value": v} for n, v in (("prefix", source.prefix), ("suffix", source.suffix)) if v]
        wanted: dict[str, Any] = {"Id": ident, "LambdaFunctionArn": arn, "Events": list(source.events)}
        if rules:
            wanted["Filter"] = {"Key": {"FilterRules": rules}}
        lambdas = config.get("LambdaFunctionConfigurations", [])
        if not any(_same_notification(c, wanted) for c in lambdas):
            step.changed.append("add the notification")
            if not self.plan:
                config["LambdaFunctionConfigurations"] = [c for c in lambdas if c.get("Id") != ident] + [wanted]
                self.call(s3.put_bucket_notification_configuration, f"put the notifications of {source.bucket}",
                          Bucket=source.bucket, NotificationConfiguration=config)
        step.entries.append({"kind": "s3", "bucket": source.bucket, "id": ident})
        return step

    # -- event source mappings
    def _mapping(self, step: EventStep, source_arn: str, arn: str, settings: dict[str, Any]) -> EventStep:
        client = self.clients.lambda_(step.region)
        found = self.call(client.list_event_source_mappings, f"read the event sources of {arn.rsplit(':', 1)[-1]}",
                          EventSourceArn=source_arn, FunctionName=arn).get("EventSourceMappings", [])
        found = [m for m in found if m.get("FunctionArn", arn) == arn and m.get("EventSourceArn") == source_arn]
        changed = {k: v for k, v in settings.items() if k != "StartingPosition" and v is not None}
        if not found:
            step.changed.append("create the event source mapping")
            if not self.plan:
                create = roles.when_assumable(client.create_event_source_mapping, sleep=time.sleep,
                                              on_wait=lambda attempt, delay: None)  # a policy just attached
                created = self.call(create, f"create the event source {source_arn}",
                                    EventSourceArn=source_arn, FunctionName=arn,
                                    **{k: v for k, v in settings.items() if v is not None})
                step.entries.append({"kind": "mapping", "uuid": created["UUID"]})
            return step
        mapping = found[0]
        step.entries.append({"kind": "mapping", "uuid": mapping["UUID"]})
        differ = {k: v for k, v in changed.items() if k != "ScalingConfig" and mapping.get(k) != v}
        if differ:
            step.changed.append(f"update the event source mapping ({', '.join(differ)})")
            if not self.plan:
                self.call(client.update_event_source_mapping, f"update the event source {source_arn}",
                          UUID=mapping["UUID"], **differ)
        return step

    def _sqs(self, region: str, source: EventSource, arn: str) -> EventStep:
        queue_arn = source.arn or f"arn:{permissions.partition_of(arn)}:sqs:{region}:{permissions.account_of(arn)}:" \
                                  f"{source.queue}"
        step = EventStep(region, source, f"SQS queue {queue_arn.rsplit(':', 1)[-1]}")
        scaling = {"MaximumConcurrency": source.maximum_concurrency} if source.maximum_concurrency else None
        return self._mapping(step, queue_arn, arn, {"BatchSize": source.batch_size,
                                                    "MaximumBatchingWindowInSeconds": source.batching_window,
                                                    "ScalingConfig": scaling})

    def _kinesis(self, region: str, source: EventSource, arn: str) -> EventStep:
        stream_arn = f"arn:{permissions.partition_of(arn)}:kinesis:{region}:{permissions.account_of(arn)}:stream/" \
                     f"{source.stream}"
        step = EventStep(region, source, f"Kinesis stream {source.stream}")
        return self._mapping(step, stream_arn, arn, {"BatchSize": source.batch_size,
                                                     "MaximumBatchingWindowInSeconds": source.batching_window,
                                                     "StartingPosition": source.starting_position})

    def _dynamodb(self, region: str, source: EventSource, arn: str) -> EventStep:
        step = EventStep(region, source, f"DynamoDB stream {source.arn.split('/')[1] if '/' in source.arn else ''}")
        return self._mapping(step, source.arn, arn, {"BatchSize": source.batch_size,
                                                     "MaximumBatchingWindowInSeconds": source.batching_window,
                                                     "StartingPosition": source.starting_position})

    # -- SNS
    def _sns(self, region: str, source: EventSource, arn: str) -> EventStep:
        sns = self.clients.client("sns", region)
        topic = source.topic if source.topic.startswith("arn:") else \
            f"arn:{permissions.partition_of(arn)}:sns:{region}:{permissions.account_of(arn)}:{source.topic}"
        step = EventStep(region, source, f"SNS topic {topic.rsplit(':', 1)[-1]}")
        self._permit(step, arn, "sns.amazonaws.com", topic)
        found = self.call(sns.list_subscriptions_by_topic, f"read the subscriptions of {topic}", TopicArn=topic)
        mine = [s for s in found.get("Subscriptions", []) if s.get("Endpoint") == arn and s.get("Protocol") == "lambda"]
        subscription = mine[0]["SubscriptionArn"] if mine else ""
        if not mine:
            step.changed.append("subscribe the function")
            if not self.plan:
                subscription = self.call(sns.subscribe, f"subscribe to {topic}", TopicArn=topic, Protocol="lambda",
                                         Endpoint=arn)["SubscriptionArn"]
        if subscription:
            step.entries.append({"kind": "subscription", "arn": subscription})
        return step

    # -- removal
    def remove(self, region: str, entry: Entry) -> None:
        """Take away one recorded resource (gone already: nothing to do)."""
        kind = entry["kind"]
        if kind == "rule":
            events = self.clients.client("events", region)
            targets = self.call(events.list_targets_by_rule, f"read the targets of {entry['name']}", missing_ok=True,
                                Rule=entry["name"])
            if targets is None:
                return
            ids = [t["Id"] for t in targets.get("Targets", [])]
            if ids:
                self.call(events.remove_targets, f"remove the targets of {entry['name']}", Rule=entry["name"], Ids=ids)
            self.call(events.delete_rule, f"delete rule {entry['name']}", missing_ok=True, Name=entry["name"])
        elif kind == "s3":
            s3 = self.clients.s3(region)
            config = self.call(s3.get_bucket_notification_configuration, f"read the notifications of {entry['bucket']}",
                               missing_ok=True, Bucket=entry["bucket"])
            if config is None:
                return
            config = {k: v for k, v in config.items() if k != "ResponseMetadata"}
            lambdas = config.get("LambdaFunctionConfigurations", [])
            kept = [c for c in lambdas if c.get("Id") != entry["id"]]
            if len(kept) != len(lambdas):
                config["LambdaFunctionConfigurations"] = kept
                self.call(s3.put_bucket_notification_configuration, f"put the notifications of {entry['bucket']}",
                          Bucket=entry["bucket"], NotificationConfiguration=config)
        elif kind == "mapping":
            self.call(self.clients.lambda_(region).delete_event_source_mapping, f"delete event source {entry['uuid']}",
                      missing_ok=True, UUID=entry["uuid"])
        elif kind == "subscription":
            self.call(self.clients.client("sns", region).unsubscribe, f"unsubscribe {entry['arn']}", missing_ok=True,
                      SubscriptionArn=entry["arn"])
        elif kind == "permission":
            permissions.remove(self.clients.lambda_(region), self.call, entry["function"], entry["sid"])


def _same_notification(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def norm(config: dict[str, Any]) -> str:
        rules = ((config.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
        return json.dumps([config.get("Id"), config.get("LambdaFunctionArn"), sorted(config.get("Events") or []),
                           sorted((r["Name"].lower(), r["Value"]) for r in rules)])

    return norm(current) == norm(wanted)
