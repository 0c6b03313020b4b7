"""One module per subcommand, each with `register(subparsers)`."""

from ingestion.files import ImportRejected, MappingError
from orchestration.cli.commands import (
    demo,
    docs,
    evaluate_quality,
    export,
    factors,
    forecast,
    health,
    import_cmd,
    ingest,
    plan,
    report,
    run,
    scenario,
    simulate,
    trace,
    validate,
)
from orchestration.cli.commands.common import UserError
from orchestration.cli.validate import MissingInput

ALL = (
    demo,
    simulate,
    import_cmd,
    ingest,
    run,
    validate,
    evaluate_quality,
    plan,
    forecast,
    scenario,
    docs,
    health,
    report,
    trace,
    factors,
    export,
)

# Errors whose message is enough for the user to act on: printed without a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    MissingInput,
    FileNotFoundError,
    ImportRejected,
    MappingError,
)
