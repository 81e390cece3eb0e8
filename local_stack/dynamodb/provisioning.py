"""Creating the template's tables in DynamoDB Local.

Key schemas, attribute definitions, GSIs and TTL settings are copied from the
`AWS::DynamoDB::Table` resources as CloudFormation would pass them to CreateTable, so the
local tables cannot drift from what `cdk deploy` creates.
"""

from __future__ import annotations

from typing import Any

from local_stack.cloudformation.template import StackTemplate

_CREATE_TABLE_KEYS = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


def create_table_requests(template: StackTemplate) -> list[tuple[dict[str, Any], str | None]]:
    """(CreateTable request, TTL attribute or None) for each table in the template."""
    requests = []
    for table in template.of_type("AWS::DynamoDB::Table"):
        props = template.resolve(dict(table.properties))
        request: dict[str, Any] = {"TableName": template.physical_id(table.logical_id)}
        request.update({k: props[k] for k in _CREATE_TABLE_KEYS if k in props})
        billing = props.get("BillingMode", "PROVISIONED")
        request["BillingMode"] = billing
        if billing == "PROVISIONED":
            request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        ttl = props.get("TimeToLiveSpecification") or {}
        requests.append((request, ttl.get("AttributeName") if ttl.get("Enabled") else None))
    return requests


def provision(client: Any, template: StackTemplate) -> list[str]:
    """Create every table (idempotently) and enable TTL where the template does."""
    existing = set(client.list_tables()["TableNames"])
    names = []
    for request, ttl_attribute in create_table_requests(template):
        name = request["TableName"]
        names.append(name)
        if name not in existing:
            client.create_table(**request)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
        if ttl_attribute:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
            )
    return names
