"""Synthetic HR system extract: deterministic for a given scale and seed.

One row per person ever employed, as the HRIS nightly CSV extract leaves it: every value is text,
dates are ISO ``YYYY-MM-DD``, an active employee has an empty ``termination_date`` and the CEO an
empty ``manager_id``. A few values are dirty the way real extracts are (mixed-case e-mail addresses,
lower-case country codes, unanswered engagement surveys); the ``employees`` transform cleans them.

Numbering that other domains rely on (sales' CRM extract assigns account managers by it):

- ``employee_count(scale)`` employees, ids ``E00001`` .. ``E{count:05d}``;
- ``E00001`` is the CEO, ``E00002`` .. ``E00008`` head the departments in ``DEPARTMENTS`` order;
- every employee number ``k >= 12`` with ``k % 4 == 0`` is an account manager in Sales.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

BASE_EMPLOYEES = 300
MIN_EMPLOYEES = 40
# The extract's "as of" date: no hire or termination lies after it.
EXTRACT_DATE = date(2025, 12, 31)
FOUNDED = date(2012, 3, 1)

# name: (weight for regular staff, head's title, regular titles with (min, max) EUR salary band)
DEPARTMENTS: dict[str, tuple[int, str, list[tuple[str, int, int]]]] = {
    "Engineering": (
        30,
        "VP Engineering",
        [
            ("Software Engineer", 52_000, 78_000),
            ("Senior Software Engineer", 70_000, 98_000),
            ("Data Engineer", 58_000, 85_000),
            ("Site Reliability Engineer", 62_000, 90_000),
            ("Engineering Manager", 88_000, 120_000),
        ],
    ),
    "Sales": (
        4,
        "VP Sales",
        [
            ("Sales Development Representative", 38_000, 52_000),
            ("Sales Operations Analyst", 45_000, 62_000),
            ("Sales Engineer", 60_000, 85_000),
        ],
    ),
    "Operations": (
        22,
        "Head of Field Operations",
        [
            ("Production Technician", 40_000, 56_000),
            ("Reliability Engineer", 58_000, 80_000),
            ("Field Supervisor", 55_000, 72_000),
            ("Maintenance Planner", 46_000, 62_000),
        ],
    ),
    "Customer Success": (
        12,
        "Head of Customer Success",
        [
            ("Customer Success Manager", 45_000, 65_000),
            ("Support Specialist", 34_000, 46_000),
        ],
    ),
    "Finance": (
        8,
        "Chief Financial Officer",
        [
            ("Financial Analyst", 48_000, 68_000),
            ("Accountant", 42_000, 58_000),
            ("Controller", 70_000, 92_000),
        ],
    ),
    "People": (
        6,
        "Chief People Officer",
        [
            ("HR Business Partner", 50_000, 70_000),
            ("Recruiter", 40_000, 58_000),
            ("People Analytics Specialist", 50_000, 72_000),
        ],
    ),
    "Marketing": (
        10,
        "Chief Marketing Officer",
        [
            ("Marketing Specialist", 40_000, 56_000),
            ("Product Marketing Manager", 58_000, 80_000),
            ("Content Strategist", 42_000, 60_000),
        ],
    ),
}
ACCOUNT_MANAGER_TITLES = [
    ("Account Manager", 52_000, 70_000),
    ("Senior Account Manager", 66_000, 88_000),
    ("Key Account Manager", 78_000, 105_000),
]
# Country of the employment contract, by department family (sales sits close to its customers).
EMEA_COUNTRIES = ["NL", "DE", "FR", "GB", "ES", "IT", "SE", "PL", "IE", "RO"]
EMEA_WEIGHTS = [18, 20, 14, 12, 8, 6, 5, 7, 4, 6]
SALES_COUNTRIES = ["US", "CA", "MX", "BR", "GB", "NL"]
SALES_WEIGHTS = [45, 15, 10, 15, 8, 7]


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",")]


FIRST_NAMES = _listed(
    "Emma, Liam, Sofia, Noah, Mila, Lucas, Julia, Daan, Anna, Mateo, Chloé, Léo, Marta, Jan,"
    " Olivia, Hugo, Lena, Finn, Aisha, Omar, Priya, Arjun, Ingrid, Lars, Zofia, Piotr, Giulia,"
    " Marco, Siobhan, Cian, Camila, Diego, Ana, João, Valentina, Santiago, Grace, Ethan, Mia,"
    " James, Fatima, Youssef, Elif, Can, Ioana, Andrei, Nora, Elias, Sara, Tomás"
)
LAST_NAMES = _listed(
    "de Vries, Jansen, Müller, Schmidt, Dubois, Martin, García, Fernández, Rossi, Bianchi,"
    " Andersson, Nilsson, Kowalski, Nowak, O'Brien, Murphy, Smith, Johnson, Williams, Brown,"
    " Silva, Santos, Oliveira, Hernández, López, Popescu, Ionescu, Yilmaz, Haddad, Khan, Patel,"
    " Singh, Bakker, Visser, Weber, Fischer, Moreau, Laurent, Romero, Costa, Lindqvist, Berg,"
    " Novak, Kelly, Taylor, Wilson, Pereira, Gómez, Wagner, Meyer"
)


def employee_count(scale: float) -> int:
    """How many employees the extract holds at ``scale`` (sales uses the same formula)."""
    return max(MIN_EMPLOYEES, int(BASE_EMPLOYEES * scale))


def is_account_manager(number: int) -> bool:
    """Whether employee number ``number`` (E00012 -> 12) is an account manager in Sales."""
    return number >= 12 and number % 4 == 0


def generate(scale: float, rng: random.Random) -> Iterator[dict[str, object]]:
    count = employee_count(scale)
    departments = list(DEPARTMENTS)
    heads = {name: f"E{index + 2:05d}" for index, name in enumerate(departments)}
    weights = [DEPARTMENTS[name][0] for name in departments]
    used_emails: set[str] = set()

    for number in range(1, count + 1):
        employee_id = f"E{number:05d}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)

        if number == 1:
            department, title, band = "Executive", "Chief Executive Officer", (180_000, 220_000)
            manager_id = ""
            hire = FOUNDED
        elif number <= 1 + len(departments):
            department = departments[number - 2]
            title = DEPARTMENTS[department][1]
            band = (115_000, 165_000)
            manager_id = "E00001"
            hire = FOUNDED + timedelta(days=rng.randint(30, 4 * 365))
        else:
            if is_account_manager(number):
                department = "Sales"
                title, low, high = rng.choices(ACCOUNT_MANAGER_TITLES, weights=[6, 3, 1])[0]
            else:
                department = rng.choices(departments, weights=weights)[0]
                title, low, high = rng.choice(DEPARTMENTS[department][2])
            band = (low, high)
            manager_id = heads[department]
            # The company grew: later hire dates are more likely (sqrt skews towards the end).
            span = (EXTRACT_DATE - timedelta(days=14) - FOUNDED).days - 180
            hire = FOUNDED + timedelta(days=180 + int(span * rng.random() ** 0.5))

        age_at_hire = rng.randint(22, 52) if number > 8 else rng.randint(34, 55)
        birth = hire - timedelta(days=age_at_hire * 365 + rng.randint(0, 364))

        termination = ""
        churn_probability = 0.0 if number <= 8 else 0.24
        if rng.random() < churn_probability:
            latest = (EXTRACT_DATE - hire).days
            if latest > 60:
                # Most leavers go within their first three years.
                stay = min(latest, 60 + int(rng.expovariate(1 / 700)))
                termination = (hire + timedelta(days=stay)).isoformat()

        if department == "Sales":
            country = rng.choices(SALES_COUNTRIES, weights=SALES_WEIGHTS)[0]
        else:
            country = rng.choices(EMEA_COUNTRIES, weights=EMEA_WEIGHTS)[0]
        if rng.random() < 0.04:
            country = country.lower()  # hand-typed in the HRIS; conformed to upper case

        salary = rng.uniform(*band) * (1.0 + 0.012 * min(10, (EXTRACT_DATE - hire).days // 365))
        salary_text = f"{salary:.2f}" if rng.random() < 0.9 else f"{round(salary)}"

        engagement: str | None
        if rng.random() < 0.08:
            engagement = None  # did not answer the latest survey
        else:
            mean = 6.1 if termination else 7.3
            engagement = f"{min(10.0, max(0.0, rng.gauss(mean, 1.4))):.1f}"

        email = _email(first, last, used_emails)
        if rng.random() < 0.1:
            email = email.title()  # e.g. Emma.De-Vries@Example.Com; lower-cased downstream

        yield {
            "employee_id": employee_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "birth_date": birth.isoformat(),
            "hire_date": hire.isoformat(),
            "termination_date": termination,
            "department": department,
            "job_title": title,
            "manager_id": manager_id,
            "country": country,
            "annual_salary": salary_text,
            "engagement_score": engagement,
        }


def _email(first: str, last: str, used: set[str]) -> str:
    local = f"{_ascii(first)}.{_ascii(last)}"
    candidate, suffix = local, 1
    while candidate in used:
        suffix += 1
        candidate = f"{local}{suffix}"
    used.add(candidate)
    return f"{candidate}@example.com"


def _ascii(name: str) -> str:
    table = str.maketrans("áàâäãçéèêëíìîïñóòôöõúùûüøåłš", "aaaaaceeeeiiiinooooouuuuoals")
    folded = name.lower().translate(table).replace(" ", "-")
    return "".join(ch for ch in folded if ch.isalnum() or ch == "-")
