"""Schedule rules as the template declares them, and the event EventBridge sends to a target."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local_stack.cloudformation.template import StackTemplate

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleRule:
    logical_id: str
    name: str
    arn: str
    expression: str
    target_function_names: tuple[str, ...]
    enabled: bool

    def interval_seconds(self) -> float | None:
        """The period of a rate() rule; cron() rules run every minute they match (see `cron_matches`)."""
        match = _RATE.match(self.expression)
        if not match:
            return None
        return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def _field_matches(field: str, value: int) -> bool:
    if field in ("*", "?"):
        return True
    for part in field.split(","):
        if part.startswith("*/") and value % int(part[2:]) == 0:
            return True
        if "-" in part:
            low, high = part.split("-", 1)
            if low.isdigit() and high.isdigit() and int(low) <= value <= int(high):
                return True
        elif part.isdigit() and int(part) == value:
            return True
    return False


def cron_matches(expression: str, moment: datetime) -> bool:
    """cron(minutes hours day-of-month month day-of-week year), the numeric subset."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6:
        return False
    minute, hour, day, month, _weekday, year = fields
    return all(
        _field_matches(f, v)
        for f, v in (
            (minute, moment.minute),
            (hour, moment.hour),
            (day, moment.day),
            (month, moment.month),
            (year, moment.year),
        )
    )


def schedule_rules(template: StackTemplate) -> list[ScheduleRule]:
    rules = []
    for resource in template.of_type("AWS::Events::Rule"):
        props = resource.properties
        expression = props.get("ScheduleExpression")
        if not expression:
            continue
        targets = []
        for target in props.get("Targets", []):
            arn = str(template.resolve(target["Arn"]))
            if ":function:" in arn:
                targets.append(arn.split(":function:", 1)[1].split(":", 1)[0])
        name = str(template.resolve(props.get("Name", resource.logical_id)))
        rules.append(
            ScheduleRule(
                logical_id=resource.logical_id,
                name=name,
                arn=f"arn:aws:events:{template.region}:{template.account_id}:rule/{name}",
                expression=str(expression),
                target_function_names=tuple(targets),
                enabled=props.get("State", "ENABLED") == "ENABLED",
            )
        )
    return rules


def scheduled_event(rule: ScheduleRule, region: str, account_id: str, moment: datetime | None = None) -> dict[str, Any]:
    moment = moment or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }
