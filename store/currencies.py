"""The currency table the processors convert revenue with.

No internet here, so the seed is a static snapshot (units of USD per unit of currency, rounded,
as of 2026-11). Keep it current in production with `gamemetrics currencies set CODE USD_PER_UNIT`
(e.g. from a daily job); a purchase in a currency missing from the table goes to the DLQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg

SEED_DATE = "2026-11-01"

USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CNY": 0.138, "KRW": 0.00072,
    "INR": 0.012, "BRL": 0.18, "MXN": 0.055, "CAD": 0.73, "AUD": 0.66, "NZD": 0.60,
    "CHF": 1.13, "SEK": 0.095, "NOK": 0.092, "DKK": 0.145, "PLN": 0.25, "CZK": 0.043,
    "HUF": 0.0027, "TRY": 0.029, "RUB": 0.011, "ZAR": 0.055, "SGD": 0.74, "HKD": 0.128,
    "TWD": 0.031, "THB": 0.028, "IDR": 0.000063, "MYR": 0.22, "PHP": 0.018, "VND": 0.00004,
    "AED": 0.272, "SAR": 0.267, "ILS": 0.27, "ARS": 0.001, "CLP": 0.00105, "COP": 0.00025,
    "PEN": 0.27, "EGP": 0.02, "NGN": 0.00065, "UAH": 0.024,
}


def set_rate(conn: psycopg.Connection, code: str, usd_per_unit: float) -> None:
    """Add or update one currency's rate (workers re-read the table every few seconds)."""
    conn.execute(
        "INSERT INTO currency_rates (currency, usd_per_unit) VALUES (%s, %s) ON CONFLICT (currency) "
        "DO UPDATE SET usd_per_unit = excluded.usd_per_unit, updated_at = now()",
        (code, usd_per_unit),
    )


def list_rates(conn: psycopg.Connection) -> list[tuple[str, float, datetime]]:
    """The currency table: code, USD per unit, last update."""
    return conn.execute("SELECT currency, usd_per_unit, updated_at FROM currency_rates ORDER BY 1").fetchall()
