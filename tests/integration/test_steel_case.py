"""The real steel plant's January 2018 file, imported as published and run through the whole
pipeline (real dbt, real Dagster) as its own deployment in Asia/Seoul: the computed emissions
reproduce the file's CO2(tCO2) column on every row but the 2 January defect rows."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.cli.commands.demo import STEEL_CSV

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not STEEL_CSV.exists(), reason="../shared/data is not beside the project"),
]


def test_steel_demo_reproduces_the_published_co2_column(tmp_path):
    # A subprocess: the steel plant is its own deployment (Asia/Seoul partitions from 2017), and
    # Dagster partitions are fixed when the definitions are imported.
    wattprint = Path(sys.executable).with_name("wattprint")
    done = subprocess.run(
        [str(wattprint), "--home", str(tmp_path / "steel"), "demo", "--case", "steel"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2,976 of 2,976 rows compared" in out
    assert "2,929 match within ±0.005 tCO2 (2,929 also under exact 2-decimal rounding" in out
    assert "47 do not" in out
    assert "Mismatching rows as printed in the file: 2/1/2018 8:15 … 2/1/2018 20:30." in out
    # The unrounded total: Σ kWh × 0.4585 / 1000 over the month, 126,238.29 kWh.
    total = re.search(r"Total ([\d,.]+) kWh → ([\d.]+) tCO2 unrounded", out)
    assert total is not None
    assert total.group(1) == "126,238.29"
    assert float(total.group(2)) == pytest.approx(126238.29 * 0.4585 / 1000, abs=1e-6)
