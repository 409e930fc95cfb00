"""Alarms and dashboards, read from the synthesized template: every function, queue and API is watched, and every
alarm reaches a person through the topic, when it fires and when it clears."""

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from infra.constructs.monitoring import FLOWS, KEEPALIVE_SERVICE, Monitoring
from infra.constructs.monitoring import NAMESPACE as ROOT_NAMESPACE
from infra.names import STACK_NAME

NAMESPACE = f"{ROOT_NAMESPACE}/{STACK_NAME}"
"""The stack's own metric namespace (``monitoring.metric_namespace``)."""

Resources = dict[str, dict[str, Any]]


def _of_type(template: dict[str, Any], kind: str) -> Resources:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


def _topic(template: dict[str, Any]) -> str:
    (topic,) = _of_type(template, "AWS::SNS::Topic")
    return topic


def _alarms_on(template: dict[str, Any], namespace: str, metric: str, dimension: dict[str, Any]) -> list[Any]:
    return [
        alarm["Properties"]
        for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == namespace
        and alarm["Properties"].get("MetricName") == metric
        and alarm["Properties"].get("Dimensions") == [dimension]
    ]


def _the_alarm(template: dict[str, Any], namespace: str, metric: str, dimension: dict[str, Any]) -> Any:
    found = _alarms_on(template, namespace, metric, dimension)
    assert len(found) == 1, f"{len(found)} {metric} alarms on {dimension}"
    alarm = found[0]
    # A person hears when it fires and when it clears.
    assert alarm["AlarmActions"] == [{"Ref": _topic(template)}]
    assert alarm["OKActions"] == [{"Ref": _topic(template)}]
    return alarm


def _queue_of(arn: Any) -> str:
    logical_id: str = arn["Fn::GetAtt"][0]
    return logical_id


def _dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Queues a redrive policy or an EventBridge target sends what failed to."""
    redriven = {
        _queue_of(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in _of_type(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }
    targeted = {
        _queue_of(target["DeadLetterConfig"]["Arn"])
        for rule in _of_type(template, "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
        if "DeadLetterConfig" in target
    }
    return redriven | targeted


def _work_queues(template: dict[str, Any]) -> set[str]:
    return {
        _queue_of(mapping["Properties"]["EventSourceArn"])
        for mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").values()
    }


def _service_of(function: dict[str, Any]) -> str:
    name: str = function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    return name


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_refuses_plain_http(
    template: dict[str, Any],
) -> None:
    assertions = Template.from_json(template)
    topic = template["Resources"][_topic(template)]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert any(
        statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        and set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        for statement in key["KeyPolicy"]["Statement"]
    )
    assertions.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": _topic(template)}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )
    # The default stack has no alarm_email: nobody is subscribed to a made-up address.
    assertions.resource_count_is("AWS::SNS::Subscription", 0)


def test_an_alarm_email_is_subscribed_to_the_topic() -> None:
    stack = cdk.Stack(cdk.App(), "Watched")
    Monitoring(stack, "Monitoring", alarm_email="ops@example.com")
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_every_function_alarms_on_its_errors_and_throttles(template: dict[str, Any]) -> None:
    functions = _of_type(template, "AWS::Lambda::Function")
    assert len(functions) >= 10
    for logical_id in functions:
        for metric in ("Errors", "Throttles"):
            alarm = _the_alarm(template, "AWS/Lambda", metric, {"Name": "FunctionName", "Value": {"Ref": logical_id}})
            assert (alarm["Statistic"], alarm["Threshold"], alarm["Period"]) == ("Sum", 1, 300)
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            # No invocations is no errors: quiet hours never alarm.
            assert alarm["TreatMissingData"] == "notBreaching"


def test_every_queue_is_a_work_queue_or_a_dead_letter_queue(template: dict[str, Any]) -> None:
    queues = set(_of_type(template, "AWS::SQS::Queue"))
    dead, work = _dead_letter_queues(template), _work_queues(template)
    assert not dead & work
    assert dead | work == queues, f"neither drained nor dead letters: {queues - dead - work}"


def test_every_dead_letter_queue_alarms_on_its_first_message(template: dict[str, Any]) -> None:
    dead = _dead_letter_queues(template)
    assert len(dead) >= 7
    for logical_id in dead:
        alarm = _the_alarm(
            template,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id, "QueueName"]}},
        )
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Maximum",
            0,
            "GreaterThanThreshold",
        )
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_work_queue_alarms_on_its_oldest_message_later_than_one_retry(template: dict[str, Any]) -> None:
    queues = _of_type(template, "AWS::SQS::Queue")
    work = _work_queues(template)
    assert len(work) == 5
    for logical_id in work:
        alarm = _the_alarm(
            template,
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id, "QueueName"]}},
        )
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        # A message that failed once is back after the visibility timeout and is as old as when it was first sent:
        # a threshold under that would page for every retry, which the dead-letter alarm already covers.
        visibility = queues[logical_id]["Properties"]["VisibilityTimeout"]
        assert alarm["Threshold"] > visibility, logical_id
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_http_api_alarms_on_server_errors(template: dict[str, Any]) -> None:
    apis = _of_type(template, "AWS::ApiGatewayV2::Api")
    assert len(apis) == 1
    for logical_id in apis:
        alarm = _the_alarm(template, "AWS/ApiGateway", "5xx", {"Name": "ApiId", "Value": {"Ref": logical_id}})
        assert alarm["Statistic"] == "Sum"
        assert alarm["Threshold"] >= 1


def _keepalive(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return next(
        (key, function)
        for key, function in _of_type(template, "AWS::Lambda::Function").items()
        if function["Metadata"]["FortnoxBridge:Source"] == "functions/connection_keepalive"
    )


def test_the_keepalive_schedule_keeps_a_tick_it_could_not_deliver_and_alarms_on_it(template: dict[str, Any]) -> None:
    keepalive, _ = _keepalive(template)
    (rule,) = [
        rule
        for rule in _of_type(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("Targets", [{}])[0].get("Arn") == {"Fn::GetAtt": [keepalive, "Arn"]}
    ]
    target = rule["Properties"]["Targets"][0]
    dead = _queue_of(target["DeadLetterConfig"]["Arn"])
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    _the_alarm(
        template,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead, "QueueName"]}},
    )
    # EventBridge may send to it only from this rule.
    (policy,) = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in _of_type(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": dead} in policy["Properties"]["Queues"]
    ]
    assert any(statement["Principal"] == {"Service": "events.amazonaws.com"} for statement in policy)


def _dashboard_of(template: dict[str, Any], reference: dict[str, Any]) -> set[str]:
    return {name for name, body in _dashboards(template).items() if json.dumps(reference) in body}


def test_every_schedule_keeps_a_tick_it_could_not_deliver_in_an_alarmed_queue_on_its_flows_dashboard(
    template: dict[str, Any],
) -> None:
    functions = _of_type(template, "AWS::Lambda::Function")
    queues = _of_type(template, "AWS::SQS::Queue")
    scheduled = {
        function["Metadata"]["FortnoxBridge:Source"]: target
        for rule in _of_type(template, "AWS::Events::Rule").values()
        if "ScheduleExpression" in rule["Properties"]
        for target in rule["Properties"]["Targets"]
        for key, function in functions.items()
        if target["Arn"] == {"Fn::GetAtt": [key, "Arn"]}
    }
    assert set(scheduled) == {
        "functions/connection_keepalive",
        "functions/payment_schedule",
        "functions/failure_digest",
    }
    for source, target in scheduled.items():
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2, source
        dead = _queue_of(target["DeadLetterConfig"]["Arn"])
        properties = queues[dead]["Properties"]
        # Kept as long and encrypted like every other dead-letter queue.
        assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600, source
        assert properties["SqsManagedSseEnabled"] is True, source
        _the_alarm(
            template,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead, "QueueName"]}},
        )
        # EventBridge may send to it, over TLS only.
        (statements,) = [
            policy["Properties"]["PolicyDocument"]["Statement"]
            for policy in _of_type(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": dead} in policy["Properties"]["Queues"]
        ]
        assert any(s["Principal"] == {"Service": "events.amazonaws.com"} for s in statements), source
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements), source
        # Whoever watches the function's flow sees its missed ticks there too.
        function = target["Arn"]["Fn::GetAtt"][0]
        assert _dashboard_of(template, {"Ref": function}) == _dashboard_of(
            template, {"Fn::GetAtt": [dead, "QueueName"]}
        ), source


def test_the_keepalive_alarms_on_a_refusal_that_repeats_apart_from_a_postponed_refresh(
    template: dict[str, Any],
) -> None:
    _, function = _keepalive(template)
    service = {"Name": "service", "Value": _service_of(function)}
    failed = _the_alarm(template, NAMESPACE, "ConnectionsFailed", service)
    # One tenant in one day: the next run fails the same way, and day 45 loses the tenant.
    assert (failed["Statistic"], failed["Threshold"], failed["Period"]) == ("Sum", 1, 86400)
    assert failed["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert failed["TreatMissingData"] == "notBreaching"
    assert any(metric.name == "ConnectionsFailed" for flow in FLOWS for metric in flow.metrics)


def test_the_keepalive_alarms_on_postponed_and_lost_tenants_and_on_a_missed_day(template: dict[str, Any]) -> None:
    _, function = _keepalive(template)
    service = {"Name": "service", "Value": _service_of(function)}
    assert service["Value"] == KEEPALIVE_SERVICE
    for metric in ("ConnectionsPostponed", "ConnectionsLost"):
        alarm = _the_alarm(template, NAMESPACE, metric, service)
        assert (alarm["Statistic"], alarm["Threshold"], alarm["Period"]) == ("Sum", 1, 86400)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    missed = _the_alarm(template, NAMESPACE, "ConnectionsRefreshed", service)
    assert (missed["Statistic"], missed["Threshold"], missed["ComparisonOperator"]) == (
        "SampleCount",
        1,
        "LessThanThreshold",
    )
    # A keep-alive that never runs emits nothing: silence is the alarm.
    assert missed["TreatMissingData"] == "breaching"
    assert missed["Period"] * missed["EvaluationPeriods"] <= 7 * 86400


def _dashboards(template: dict[str, Any]) -> dict[str, str]:
    """Each dashboard's body, with the references CloudFormation fills in shown as their JSON."""
    found = {}
    for dashboard in _of_type(template, "AWS::CloudWatch::Dashboard").values():
        body = dashboard["Properties"]["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        found[dashboard["Properties"]["DashboardName"]] = "".join(
            part if isinstance(part, str) else json.dumps(part) for part in parts
        )
    return found


def test_a_dashboard_per_flow_shows_its_business_metrics(template: dict[str, Any]) -> None:
    dashboards = _dashboards(template)
    flows = ("connect", "invoice-export", "voucher-export", "payment-sync", "webhooks")
    assert {f"{STACK_NAME}-{slug}" for slug in flows} == set(dashboards)
    services = {_service_of(function) for function in _of_type(template, "AWS::Lambda::Function").values()}
    for flow in FLOWS:
        body = dashboards[f"{STACK_NAME}-{flow.slug}"]
        for metric in flow.metrics:
            if metric.service is None:  # summed over every service that emits it
                quoted = json.dumps(f'MetricName="{metric.name}"')[1:-1]  # as the dashboard's JSON holds it
                drawn = f"SEARCH('{{{json.dumps(json.dumps(NAMESPACE))[1:-1]},service}} {quoted}'"
            else:
                drawn = json.dumps([NAMESPACE, metric.name, "service", metric.service], separators=(",", ":"))[:-1]
            assert drawn in body, (flow.slug, drawn)
            # A dimension no function emits would draw an empty line forever.
            assert metric.service is None or metric.service in services, metric


def test_every_function_and_queue_is_on_a_dashboard(template: dict[str, Any]) -> None:
    bodies = "".join(_dashboards(template).values())
    for logical_id in _of_type(template, "AWS::Lambda::Function"):
        assert json.dumps({"Ref": logical_id}) in bodies, logical_id
    for logical_id in _of_type(template, "AWS::SQS::Queue"):
        assert json.dumps({"Fn::GetAtt": [logical_id, "QueueName"]}) in bodies, logical_id


def test_a_work_queue_without_a_reasoned_age_threshold_stops_the_synth() -> None:
    stack = cdk.Stack(cdk.App(), "Watched")
    dead = sqs.Queue(stack, "Dead")
    sqs.Queue(stack, "Unreasoned", dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=5))
    with pytest.raises(ValueError, match="Unreasoned"):
        Monitoring(stack, "Monitoring", alarm_email=None)
