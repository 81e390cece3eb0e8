"""Prices are data (prices.json), copied by hand from AWS's pricing pages and never fetched."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).resolve().with_name("prices.json")


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    per: float
    unit: str
    source: str

    @property
    def unit_usd(self) -> float:
        return self.usd / self.per

    def label(self) -> str:
        if self.per == 1:
            return f"{usd(self.usd)} / {self.unit}"
        per = f"{self.per / 1_000_000:g}M" if self.per >= 1_000_000 else f"{self.per:,.0f}"
        return f"{usd(self.usd)} / {per} {plural(self.unit)}"


def usd(amount: float) -> str:
    """At least cents, and every digit of sub-cent prices ($0.0000133334)."""
    whole, _, cents = f"{amount:.10f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def plural(unit: str) -> str:
    return unit if unit[-1].isupper() else f"{unit}s"  # GB, WRU and RRU stay as they are


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def price(prices: dict[str, Any], key: str) -> Price:
    entry = prices["prices"][key]
    return Price(key, float(entry["usd"]), float(entry["per"]), str(entry["unit"]), str(entry["source"]))
