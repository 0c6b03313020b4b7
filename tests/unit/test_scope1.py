"""Scope 1 fuel combustion by hand: kg of CO2, CH4 and N2O per unit of fuel × GWP set.

The natural gas factors are DESNZ-like (kWh gross CV): CO2 0.18219 kg/kWh is the DESNZ 2022
"kg CO2e of CO2" for natural gas; the CH4 and N2O masses (1.0e-5 and 3.0e-7 kg/kWh) are round
numbers of the same size as DESNZ's shares (≈0.0003 and ≈0.0001 kg CO2e/kWh). GWPs (IPCC,
100-year): AR5 CH4 28, N2O 265 (WG1 Table 8.7); AR6 CH4 27.9, N2O 273 (WG1 Table 7.15/7.SM.7);
AR6 fossil CH4 29.8 (Table 7.15)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from ingestion.factors.common import build_frame
from models.scope2.scope1 import GWP_SETS, GasFactor, combustion, combustion_frame

NATURAL_GAS = {
    "CO2": GasFactor("CO2", 0.18219, "kgCO2/kWh"),
    "CH4": GasFactor("CH4", 1.0e-5, "kgCH4/kWh"),
    "N2O": GasFactor("N2O", 3.0e-7, "kgN2O/kWh"),
}


def test_gwp_sets_state_their_values():
    assert GWP_SETS["AR5"] == {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}
    assert GWP_SETS["AR6"] == {"CO2": 1.0, "CH4": 27.9, "N2O": 273.0}
    assert GWP_SETS["AR6-fossil"]["CH4"] == 29.8
    assert GWP_SETS["AR4"] == {"CO2": 1.0, "CH4": 25.0, "N2O": 298.0}


def test_natural_gas_by_hand_ar5_vs_ar6():
    # 100,000 kWh: CO2 18,219 kg; CH4 1.0 kg; N2O 0.03 kg
    ar5 = combustion("natural_gas", 100_000, "kWh", NATURAL_GAS, "AR5")
    assert ar5.kg == pytest.approx({"CO2": 18_219.0, "CH4": 1.0, "N2O": 0.03})
    # AR5: 18,219 + 1.0 × 28 + 0.03 × 265 = 18,219 + 28 + 7.95 = 18,254.95 kg CO2e
    assert ar5.kg_co2e_by_gas == pytest.approx({"CO2": 18_219.0, "CH4": 28.0, "N2O": 7.95})
    assert ar5.kg_co2e == pytest.approx(18_254.95)
    # AR6: 18,219 + 1.0 × 27.9 + 0.03 × 273 = 18,219 + 27.9 + 8.19 = 18,255.09 kg CO2e
    assert combustion("natural_gas", 100_000, "kWh", NATURAL_GAS, "AR6").kg_co2e == pytest.approx(
        18_255.09
    )
    # AR6 with fossil CH4: 18,219 + 29.8 + 8.19 = 18,256.99 kg CO2e
    fossil = combustion("natural_gas", 100_000, "kWh", NATURAL_GAS, "AR6-fossil")
    assert fossil.kg_co2e == pytest.approx(18_256.99)
    # the same gas in MWh or therms: units converted before the factor is applied
    assert combustion("natural_gas", 100, "MWh", NATURAL_GAS).kg_co2e == pytest.approx(18_254.95)
    therms = combustion("natural_gas", 1000, "therm", NATURAL_GAS)
    assert therms.quantity_base == pytest.approx(29_307.107, abs=1e-3)


def test_diesel_litres_and_lpg_tonnes():
    diesel = {
        "CO2": GasFactor("CO2", 2.5, "kgCO2/l"),
        "CH4": GasFactor("CH4", 1.0e-4, "kgCH4/l"),
        "N2O": GasFactor("N2O", 2.0e-5, "kgN2O/l"),
    }
    # 1,000 l: 2,500 + 0.1 × 28 + 0.02 × 265 = 2,500 + 2.8 + 5.3 = 2,508.1 kg CO2e (AR5)
    assert combustion("diesel", 1000, "l", diesel).kg_co2e == pytest.approx(2508.1)
    assert combustion("diesel", 1, "m3", diesel).kg_co2e == pytest.approx(2508.1)
    lpg = {
        "CO2": GasFactor("CO2", 2.94, "kgCO2/kg"),
        "CH4": GasFactor("CH4", 5.0e-5, "kgCH4/kg"),
        "N2O": GasFactor("N2O", 1.0e-5, "kgN2O/kg"),
    }
    # 2 t = 2,000 kg: 5,880 + 0.1 × 28 + 0.02 × 265 = 5,888.1 kg CO2e (AR5)
    assert combustion("lpg", 2, "t", lpg).kg_co2e == pytest.approx(5888.1)
    with pytest.raises(ValueError, match="density or calorific value"):
        combustion("lpg", 100, "l", lpg)  # litres of LPG with per-kg factors


def test_desnz_style_co2e_shares_are_restated_in_another_gwp_set():
    # "kg CO2e of CH4" 0.00025/kWh weighted by the publisher with AR4 (CH4 25) → 1.0e-5 kg CH4
    shares = {
        "CO2": GasFactor("CO2", 0.18219, "kgCO2e/kWh"),
        "CH4": GasFactor("CH4", 0.00025, "kgCO2e/kWh", publisher_gwp_set="AR4"),
        "N2O": GasFactor("N2O", 0.0000894, "kgCO2e/kWh", publisher_gwp_set="AR4"),
    }
    result = combustion("natural_gas", 100_000, "kWh", shares, "AR5")
    assert result.kg == pytest.approx({"CO2": 18_219.0, "CH4": 1.0, "N2O": 0.03})
    assert result.kg_co2e == pytest.approx(18_254.95)
    unknown = dict(shares, CH4=GasFactor("CH4", 0.00025, "kgCO2e/kWh"))
    with pytest.raises(ValueError, match="no GWP set"):
        combustion("natural_gas", 1, "kWh", unknown)


def test_missing_gas_is_an_error():
    with pytest.raises(ValueError, match="no factor for N2O"):
        combustion("natural_gas", 1, "kWh", {k: NATURAL_GAS[k] for k in ("CO2", "CH4")})


def test_combustion_frame_reads_landed_fuel_factors():
    start, end = datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)

    def row(gas: str, value: float, unit: str, gwp_set: str | None = None) -> dict:
        return {
            "factor_id": f"UK-DESNZ/fuels/gaseous_fuels/natural_gas/kwh_gross_cv/{gas.lower()}",
            "version": "2022",
            "method": "fuel",
            "region": "UK",
            "energy_carrier": "natural_gas",
            "granularity": "annual",
            "valid_from": start,
            "valid_to": end,
            "value": value,
            "unit": unit,
            "gas": gas,
            "gwp_set": gwp_set,
            "source_document": "DESNZ-like",
            "published_at": start,
        }

    factors = build_frame(
        [
            row("CO2", 0.18219, "kgCO2e/kWh"),
            row("CH4", 0.00025, "kgCO2e/kWh", "AR4"),
            row("N2O", 0.0000894, "kgCO2e/kWh", "AR4"),
        ]
    )
    activity = pl.DataFrame(
        {
            "site_id": ["S"],
            "fuel": ["natural_gas"],
            "quantity": [100.0],
            "unit": ["MWh"],
            "period_start": [datetime(2022, 3, 1, tzinfo=UTC)],
        }
    )
    out = combustion_frame(activity, factors, "AR6").row(0, named=True)
    assert out["kg_co2e"] == pytest.approx(18_255.09)
    assert out["kg_ch4"] == pytest.approx(1.0)
