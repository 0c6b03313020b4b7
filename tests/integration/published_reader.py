"""A BI reader in its own process: query the published warehouse in a loop, as fast as a
dashboard refreshing several times a second, and log every answer as one JSON line.

    python published_reader.py PUBLISHED TIMEZONE OUT_JSONL STOP_FILE [MAX_SECONDS]

Each iteration opens a NEW read-only connection (as a BI tool without a connection pool does),
reads which run published the snapshot, the location-based kgCO2e per site-local day from
fct_emissions_daily and the same per day summed from fct_emissions_interval, then closes. A
failure of any kind is logged as an error line, never raised: the test counts them. It never
touches the live warehouse: even a read-only open there would take the lock a run needs.
Stops when STOP_FILE exists, or after MAX_SECONDS (default 600) whatever happens.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

DAILY = """
select site_local_date::varchar, sum(kg_co2e)::varchar
from marts.fct_emissions_daily
where method = 'location'
group by 1 order by 1
"""
# The same figure from the interval table: a snapshot is consistent when both agree per day.
INTERVALS = """
select timezone(?, timezone('UTC', interval_start_utc))::date::varchar, sum(kg_co2e)::varchar
from marts.fct_emissions_interval
where method = 'location'
group by 1 order by 1
"""


def read_once(published: str, timezone: str) -> dict:
    with duckdb.connect(published, read_only=True) as con:
        run_id = con.execute("select source_run_id from meta.publication").fetchone()[0]
        daily = dict(con.execute(DAILY).fetchall())
        intervals = dict(con.execute(INTERVALS, [timezone]).fetchall())
    return {"run_id": run_id, "daily": daily, "intervals": intervals}


def main(argv: list[str]) -> int:
    published, timezone, out, stop = argv[:4]
    max_seconds = float(argv[4]) if len(argv) > 4 else 600.0
    deadline = time.monotonic() + max_seconds
    with open(out, "a") as log:
        while not Path(stop).exists() and time.monotonic() < deadline:
            started = time.time()
            try:
                line = {"t": started, **read_once(published, timezone)}
            except Exception as error:  # counted by the test, so never raised here
                line = {"t": started, "error": f"{type(error).__name__}: {error}"}
            log.write(json.dumps(line) + "\n")
            log.flush()
            time.sleep(max(0.0, 0.2 - (time.time() - started)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
