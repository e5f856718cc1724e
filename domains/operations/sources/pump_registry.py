"""Synthetic asset-register extract of the sucker-rod pumping units (pumpjacks) on our wells.

One CSV row per pumping unit, every value text. The unit behind pump number ``k`` (``PJ-0001``
..) is fixed by ``unit_of(k)``, a rule that ``pump_readings.py`` repeats, so the registry and the
SCADA feed agree on wells, fields and ratings whatever the seed. Dirty values the
``pump_telemetry`` transform copes with: mixed-case status, blank install dates of legacy units,
thousands separators in ratings. A few decommissioned units at the end of the register send no
telemetry.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

BASE_PUMPS = 40
MIN_PUMPS = 4

# (well prefix, field, country)
FIELDS = [
    ("SCH", "Schoonebeek", "NL"),
    ("RUE", "Ruehlermoor", "DE"),
    ("SUP", "Suplacu de Barcau", "RO"),
    ("EML", "Emlichheim", "DE"),
]
# API 11E unit designation, structure rating (lbf), maximum stroke length (in)
UNITS = [
    ("C-228D-213-86", 21_300, 86),
    ("C-320D-256-120", 25_600, 120),
    ("C-456D-305-144", 30_500, 144),
    ("C-640D-365-168", 36_500, 168),
]
MANUFACTURERS = ["Lufkin", "Weatherford", "Dover Artificial Lift", "Tenaris"]


def pump_count(scale: float) -> int:
    """Pumps that send telemetry at ``scale`` (``pump_readings.py`` uses the same formula)."""
    return max(MIN_PUMPS, int(BASE_PUMPS * scale))


def unit_of(number: int) -> tuple[str, str, str, str, str, int, int]:
    """pump_id, well_id, field, country, designation, structure rating and max stroke of pump k."""
    prefix, field, country = FIELDS[(number - 1) % len(FIELDS)]
    designation, rating, stroke = UNITS[(number * 3 + number // 5) % len(UNITS)]
    well_id = f"{prefix}-{(number - 1) // len(FIELDS) + 1:03d}"
    return f"PJ-{number:04d}", well_id, field, country, designation, rating, stroke


def generate(scale: float, rng: random.Random) -> Iterator[dict[str, object]]:
    active = pump_count(scale)
    decommissioned = max(1, active // 20)
    for number in range(1, active + decommissioned + 1):
        pump_id, well_id, field, country, designation, rating, stroke = unit_of(number)
        installed = date(1998, 1, 1) + timedelta(days=rng.randint(0, 26 * 365))
        status = "active" if number <= active else "decommissioned"
        rating_text = f"{rating}" if rng.random() < 0.85 else f"{rating:,}"
        yield {
            "pump_id": pump_id,
            "well_id": well_id,
            "field_name": field,
            "country": country,
            "manufacturer": rng.choice(MANUFACTURERS),
            "unit_designation": designation,
            "structure_rating_lbf": rating_text,
            "max_stroke_in": str(stroke),
            "install_date": "" if rng.random() < 0.05 else installed.isoformat(),
            "status": status.upper() if rng.random() < 0.2 else status,
        }
