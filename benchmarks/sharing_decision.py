"""Sharing decision latency: the Rego decision ``sharing`` on an agreement of the sample mesh.

What it measures, on the sample mesh registered in a fresh SQLite governance database:

- decision: what governance does to judge an agreement's terms (a request, a counter-offer, an
  approval, a renewal): build the decision's input from the catalog (each port's columns and
  classifications, both sides' zones and regions; ``_sharing_decision.sharing_input``) and evaluate the
  shipped ``sharing`` policies. In process, one session, as the API calls it.
- coverage: what the platform asks before a product reads another domain's port
  (``GET /api/v1/agreements/coverage``), over real HTTP: the read path's question.

Baseline, in the same run: the ``access`` decision on a fixed input (the smallest decision the
service takes: one policy, no catalog reads). Each figure is printed as a ratio to it.

Target: p99 of the sharing decision at most 20 ms.

    uv run python benchmarks/sharing_decision.py [--repeat 2000]

Exits 0 even above the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import select

from meshlake.governance import (
    GovernanceSettings,
    create_app,
    serve_in_thread,
    sync_catalog,
    upgrade,
)
from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._tables import Agreement
from meshlake.governance.policies import default_engine
from meshlake.governance.services._sharing_decision import sharing_input
from meshlake.platform import load_mesh
from meshlake.platform._governance import GovernanceClient

TARGET_P99_MS = 20.0
ROOT = Path(__file__).resolve().parents[1]
TOKEN = "mlk_benchmark-sharing-decision"
AGREEMENT = "sales-account-managers-read-employees"
ACCESS_INPUT = {
    "principal": {
        "name": "ana@example.com",
        "roles": [{"role": "domain_member", "domain": "sales"}],
    },
    "action": "read",
    "dataset": {"ref": "hr.employees.employees", "domain": "hr", "classification": "personal"},
    "agreements": [
        {
            "consumer_domain": "sales",
            "dataset": "hr.employees.employees",
            "valid_until": "2027-12-31",
        }
    ],
    "today": "2026-12-04",
}


def _timings(action: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(min(50, repeat)):  # warm caches and the interpreter first
        action()
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        found.append((time.perf_counter() - started) * 1000)
    return found


def _p(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="meshlake-sharing-bench-"))
    database = f"sqlite:///{folder / 'governance.db'}"
    upgrade(database)
    app = create_app(GovernanceSettings(database_url=database, bootstrap_token=TOKEN))
    running = serve_in_thread(app)
    try:
        with GovernanceClient(running.url, TOKEN) as client:
            synced = sync_catalog(client, load_mesh(ROOT), folder)
        states = {item.name: item.state for item in synced.agreements}
        assert states[AGREEMENT] == "active", states
        engine = default_engine()
        sessions = session_factory(make_engine(database))
        today = date.today()
        with sessions() as session:
            agreement = session.scalar(select(Agreement).where(Agreement.name == AGREEMENT))
            assert agreement is not None

            def decide() -> object:
                document = sharing_input(session, agreement, agreement.terms, today)
                decision = engine.evaluate("sharing", document)
                assert decision.allowed, decision.reasons
                return decision

            def access() -> object:
                return engine.evaluate("access", ACCESS_INPUT)

            baseline = _timings(access, args.repeat)
            decision = _timings(decide, args.repeat)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        params = {"consumer": "sales.account_manager_performance", "port": "hr.employees.employees"}
        with httpx.Client(base_url=running.url, headers=headers) as http:

            def cover() -> object:
                response = http.get("/api/v1/agreements/coverage", params=params)
                assert response.status_code == 200, response.text
                return response

            coverage = _timings(cover, max(200, args.repeat // 4))
    finally:
        running.stop()
        app.state.engine.dispose()

    base50, base99 = _p(baseline, 0.5), _p(baseline, 0.99)
    print(f"{'measure':<42} {'p50 ms':>8} {'p99 ms':>8} {'p99 x baseline':>15}")
    for name, values in (
        ("access decision, fixed input (baseline)", baseline),
        ("sharing decision, input from the catalog", decision),
        ("coverage check over HTTP (read path)", coverage),
    ):
        p50, p99 = _p(values, 0.5), _p(values, 0.99)
        print(f"{name:<42} {p50:8.2f} {p99:8.2f} {p99 / base99:15.1f}")
    p99 = _p(decision, 0.99)
    print(f"baseline p50 {base50:.2f} ms; {len(decision)} sharing decisions")
    verdict = "PASS" if p99 <= TARGET_P99_MS else "FAIL"
    print(f"{verdict}: sharing decision p99 {p99:.2f} ms (target <= {TARGET_P99_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
