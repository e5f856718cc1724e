"""Synthetic order export of the web shop and sales desk: one JSON line per order event.

Orders run from each customer's signup to the end of 2025. Customers differ in how often they buy,
some never buy, and about a third stop buying at some point (the churn the
``customer_churn_features`` product learns to predict). Amounts are in USD.

The customer count and signup dates repeat ``crm_customers.py``'s rules (``customer_count``,
``signup_date``), so every order belongs to a known customer and follows the signup.

Dirty values the ``orders`` transform cleans: the export replays a few orders twice, status and
channel spellings vary in case and padding, discounts are null when there was none, and a few
customer ids come in lower case.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

BASE_ORDERS = 20_000
MIN_ORDERS = 200
# Kept in step with crm_customers.py.
BASE_CUSTOMERS = 2_000
MIN_CUSTOMERS = 50
FIRST_SIGNUP = date(2019, 1, 1)
LAST_SIGNUP = date(2025, 10, 31)

LAST_DAY = date(2025, 12, 31)
CHANNELS = ["web", "mobile_app", "sales_desk", "partner"]
CHANNEL_WEIGHTS = [55, 25, 10, 10]


def order_count(scale: float) -> int:
    """Distinct orders at ``scale``; the export adds about 0.5 % replayed duplicates."""
    return max(MIN_ORDERS, int(BASE_ORDERS * scale))


def customer_count(scale: float) -> int:
    return max(MIN_CUSTOMERS, int(BASE_CUSTOMERS * scale))


def signup_date(number: int, count: int) -> date:
    span = (LAST_SIGNUP - FIRST_SIGNUP).days
    return FIRST_SIGNUP + timedelta(days=int(span * ((number - 1) / count) ** 0.5))


def generate(scale: float, rng: random.Random) -> Iterator[dict[str, object]]:
    customers = customer_count(scale)
    starts: list[date] = []
    active_days: list[int] = []
    cumulative: list[float] = []
    total = 0.0
    for number in range(1, customers + 1):
        start = signup_date(number, customers)
        end = LAST_DAY
        if rng.random() < 0.35:  # this customer stops buying at some point
            end = min(LAST_DAY, start + timedelta(days=30 + int(rng.expovariate(1 / 450))))
        days = (end - start).days + 1
        rate = 0.0 if rng.random() < 0.06 else rng.lognormvariate(0.0, 0.9)
        total += rate * days
        starts.append(start)
        active_days.append(days)
        cumulative.append(total)

    picks = rng.choices(range(customers), cum_weights=cumulative, k=order_count(scale))
    orders: list[tuple[datetime, int]] = []
    for index in picks:
        day = starts[index] + timedelta(days=rng.randrange(active_days[index]))
        moment = datetime(day.year, day.month, day.day) + timedelta(seconds=rng.randrange(86_400))
        orders.append((moment, index + 1))
    orders.sort()

    for sequence, (moment, customer) in enumerate(orders, start=1):
        recent = (LAST_DAY - moment.date()).days < 5
        if recent:
            status = rng.choices(["processing", "shipped", "cancelled"], weights=[30, 65, 5])[0]
        else:
            status = rng.choices(["completed", "cancelled", "returned"], weights=[88, 6, 6])[0]
        if rng.random() < 0.07:
            status = rng.choice([status.upper(), status.capitalize(), f"{status} "])
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        if rng.random() < 0.03:
            channel = channel.upper()

        items = 1 + min(19, int(rng.expovariate(1 / 1.8)))
        gross = round(sum(rng.lognormvariate(3.3, 0.7) for _ in range(items)), 2)
        discount: float | None = None  # the export leaves it null when no promotion applied
        if rng.random() < 0.3:
            discount = round(gross * rng.choice([0.05, 0.1, 0.15, 0.2]), 2)
        customer_id = f"C{customer:06d}"
        row: dict[str, object] = {
            "order_id": f"SO-{sequence:07d}",
            "customer_id": customer_id if rng.random() > 0.01 else customer_id.lower(),
            "order_ts": moment.isoformat(sep=" "),
            "status": status,
            "channel": channel,
            "item_count": items,
            "gross_amount": gross,
            "discount_amount": discount,
        }
        yield row
        if rng.random() < 0.005:
            yield dict(row)  # replayed by the export job after a retry
