"""Synthetic CRM export of customer accounts in the Americas, one CSV row per customer.

Customer ids are numbered in signup order, and the signup date of customer ``k`` is fixed by
``signup_date(k, count)`` (more signups in later years, as the business grew). ``shop_orders.py``
repeats that rule so that no order predates its customer's signup, whatever the seed.

Account managers are hr employee ids: the hr extract numbers its employees ``E00001`` ..
``E{employee_count:05d}`` with ``employee_count = max(40, int(300 * scale))`` and makes every
employee number ``k >= 12`` with ``k % 4 == 0`` an account manager in Sales; the CRM assigns those.
Consumer accounts have no account manager.

Dirty values the ``customers`` transform cleans: mixed-case and padded e-mail addresses, phone
numbers in national and international formats, lower-case country codes, segment spellings from an
older CRM, and signup dates written ``YYYY/MM/DD`` by a past migration.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

BASE_CUSTOMERS = 2_000
MIN_CUSTOMERS = 50
FIRST_SIGNUP = date(2019, 1, 1)
LAST_SIGNUP = date(2025, 10, 31)

# country: (weight, dialling code, cities)
COUNTRIES: dict[str, tuple[int, str, list[str]]] = {
    "US": (55, "1", ["New York", "Chicago", "Houston", "Denver", "Seattle", "Atlanta", "Austin"]),
    "CA": (14, "1", ["Toronto", "Vancouver", "Montréal", "Calgary", "Ottawa"]),
    "MX": (10, "52", ["Ciudad de México", "Monterrey", "Guadalajara", "Puebla"]),
    "BR": (12, "55", ["São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba"]),
    "AR": (3, "54", ["Buenos Aires", "Córdoba", "Rosario"]),
    "CL": (2, "56", ["Santiago", "Valparaíso"]),
    "CO": (4, "57", ["Bogotá", "Medellín", "Cali"]),
}
# segment: (weight, spellings seen in the export, first one canonical)
SEGMENTS: dict[str, tuple[int, list[str]]] = {
    "Enterprise": (8, ["Enterprise", "enterprise", "ENTERPRISE"]),
    "Mid-Market": (17, ["Mid-Market", "mid-market", "Mid Market", "MidMarket"]),
    "SMB": (35, ["SMB", "smb", "Small Business"]),
    "Consumer": (40, ["Consumer", "consumer", "B2C"]),
}
FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Benjamin", "Charlotte", "Henry", "Amelia", "Jack", "Harper", "Owen", "Chloe", "Wyatt",
    "Sofía", "Mateo", "Valentina", "Santiago", "Camila", "Sebastián", "Lucía", "Matías",
    "Gabriela", "Diego", "Ana", "João", "Maria", "Pedro", "Beatriz", "Rafael", "Larissa", "Thiago",
    "Fernanda", "Gustavo", "Aiyana", "Kai", "Nia", "Malik", "Jasmine", "Andre", "Mei", "Wei",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Lee", "Thompson", "White", "Tremblay", "Gagnon",
    "Roy", "Côté", "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez",
    "Sánchez", "Ramírez", "Torres", "Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira",
    "Ferreira", "Almeida", "Costa", "Carvalho", "Nguyen", "Kim", "Chen", "Patel", "Okafor",
]  # fmt: skip
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]


def customer_count(scale: float) -> int:
    """Customers in the export at ``scale`` (``shop_orders.py`` uses the same formula)."""
    return max(MIN_CUSTOMERS, int(BASE_CUSTOMERS * scale))


def signup_date(number: int, count: int) -> date:
    """Signup date of customer ``number`` (1-based) of ``count``; later years have more signups."""
    span = (LAST_SIGNUP - FIRST_SIGNUP).days
    return FIRST_SIGNUP + timedelta(days=int(span * ((number - 1) / count) ** 0.5))


def account_managers(scale: float) -> list[str]:
    """hr employee ids of the account managers (the hr extract's numbering rule)."""
    employees = max(40, int(300 * scale))
    return [f"E{number:05d}" for number in range(12, employees + 1, 4)]


def generate(scale: float, rng: random.Random) -> Iterator[dict[str, object]]:
    count = customer_count(scale)
    managers = account_managers(scale)
    countries = list(COUNTRIES)
    country_weights = [COUNTRIES[code][0] for code in countries]
    segments = list(SEGMENTS)
    segment_weights = [SEGMENTS[name][0] for name in segments]
    used_emails: set[str] = set()

    for number in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country = rng.choices(countries, weights=country_weights)[0]
        _, dialling_code, cities = COUNTRIES[country]
        segment = rng.choices(segments, weights=segment_weights)[0]
        spellings = SEGMENTS[segment][1]
        segment_text = spellings[0] if rng.random() < 0.85 else rng.choice(spellings[1:])

        manager = ""
        if segment != "Consumer" and rng.random() < 0.97:
            manager = rng.choice(managers)

        email = _email(first, last, rng.choice(EMAIL_DOMAINS), used_emails)
        roll = rng.random()
        if roll < 0.08:
            email = email.title()  # Olivia.Smith@Example.Com
        elif roll < 0.12:
            email = f" {email.upper()} "

        signed_up = signup_date(number, count)
        signup_text = signed_up.isoformat()
        if rng.random() < 0.03:
            signup_text = signed_up.strftime("%Y/%m/%d")

        country_text = country if rng.random() < 0.95 else f" {country.lower()}"
        yield {
            "customer_id": f"C{number:06d}",
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": None if rng.random() < 0.06 else _phone(country, dialling_code, rng),
            "country": country_text,
            "city": rng.choice(cities),
            "segment": segment_text,
            "signup_date": signup_text,
            "account_manager_id": manager,
        }


def _email(first: str, last: str, domain: str, used: set[str]) -> str:
    table = str.maketrans("áàâãçéêíóôõúñ", "aaaaceeioooun")
    local = f"{first}.{last}".lower().translate(table).replace(" ", "")
    candidate, suffix = local, 1
    while f"{candidate}@{domain}" in used:
        suffix += 1
        candidate = f"{local}{suffix}"
    address = f"{candidate}@{domain}"
    used.add(address)
    return address


def _phone(country: str, dialling_code: str, rng: random.Random) -> str:
    if dialling_code == "1":
        area, line = rng.randint(201, 989), rng.randint(100, 199)  # 555-0100..0199: fictional
        style = rng.randrange(3)
        if style == 0:
            return f"+1 {area}-555-0{line}"
        if style == 1:
            return f"({area}) 555-0{line}"
        return f"{area}.555.0{line}"
    area = rng.randint(11, 99)
    subscriber = rng.randint(10_000_000, 99_999_999)
    if rng.random() < 0.75:
        return f"+{dialling_code} {area} {subscriber // 10_000} {subscriber % 10_000:04d}"
    return f"({area}) {subscriber // 10_000}-{subscriber % 10_000:04d}"  # national format
