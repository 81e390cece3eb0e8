"""The estimate as a table a person reads: line items, total, profile, assumptions, notes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import fields

from cost.estimate import Report


def _quantity(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.4f}"
    return f"{text} {unit}"


def _table(rows: Iterable[Sequence[str]], right: set[int]) -> list[str]:
    grid = [list(row) for row in rows]
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]

    def cell(i: int, text: str) -> str:
        return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

    return ["  ".join(cell(i, text) for i, text in enumerate(row)).rstrip() for row in grid]


def render(report: Report) -> str:
    header = ("service", "item", "monthly quantity", "unit price", "monthly USD")
    rows = [
        (i.service, i.item, _quantity(i.quantity, i.unit), i.unit_price, f"{i.monthly_usd:,.2f}")
        for i in report.line_items
    ]
    lines = _table([header, *rows, ("TOTAL", "", "", "", f"{report.total_usd:,.2f}")], right={2, 4})
    rule = "-" * max(len(line) for line in lines)
    out = [lines[0], rule, *lines[1:-1], rule, lines[-1], ""]
    out.append(
        f"Profile ({report.profile.days:g} days): "
        + ", ".join(f"{f.name}={getattr(report.profile, f.name):g}" for f in fields(report.profile))
    )
    out.append(f"Prices: {report.region}, as of {report.prices_as_of} (prices.json, not fetched online)")
    out.append("Assumptions:")
    for key, value in report.assumptions.items():
        out.append(f"  {key}: {json.dumps(value) if isinstance(value, dict | list) else value}")
    out.append("Notes:")
    out += [f"  - {note}" for note in report.notes]
    return "\n".join(out)
