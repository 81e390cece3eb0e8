"""Every item of a paginated Scan or Query.

DynamoDB returns at most 1 MB a page and says where to go on with `LastEvaluatedKey`; a reader
that forgets to follow it silently sees part of a table. Takes the client's bound method, so it
serves any caller (the repositories, the load test's verifier, the test suites' stack checks)
without knowing about their tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


def all_items(operation: Callable[..., Mapping[str, Any]], **request: Any) -> Iterator[dict[str, Any]]:
    """`all_items(client.query, TableName=..., KeyConditionExpression=...)`: the items of every page, in order."""
    kwargs = dict(request)
    while True:
        page = operation(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
