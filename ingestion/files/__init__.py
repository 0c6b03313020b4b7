"""File importers: CSV/Parquet exports of meter history, registries, bills, production and
emission factors into the landing zone. No dagster imports.

    from ingestion.files import import_file, ReadingsMapping
    report = import_file(home, "readings", "export.csv", ReadingsMapping.from_file("map.yaml"))
    print(report.summary())

The file formats are documented in `ingestion.files.formats`; the readings mapping in
`ingestion.files.mapping`. A bad file raises `ImportRejected` and lands nothing, unless
`quarantine_bad_rows=True`, which lands the good rows and quarantines the bad ones.
"""

from ingestion.files.errors import ImportRejected, Problem
from ingestion.files.importer import ImportReport, import_file
from ingestion.files.mapping import MappingError, ReadingsMapping

__all__ = [
    "ImportRejected",
    "ImportReport",
    "MappingError",
    "Problem",
    "ReadingsMapping",
    "import_file",
]
