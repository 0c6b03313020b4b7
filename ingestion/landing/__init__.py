"""The landing-zone contract: typed schemas, Hive-partitioned immutable Parquet, atomic writes and
a quarantine that keeps every rejected row or file with its reason."""

from ingestion.landing.schemas import KINDS, SCHEMAS, LandingKind
from ingestion.landing.store import LandingZone, WriteResult

__all__ = ["KINDS", "SCHEMAS", "LandingKind", "LandingZone", "WriteResult"]
