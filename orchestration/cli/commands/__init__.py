"""One module per subcommand, each with `register(subparsers)`."""

from ingestion.files import ImportRejected, MappingError
from orchestration.cli.commands import demo, import_cmd, ingest, run, simulate, validate
from orchestration.cli.commands.common import UserError
from orchestration.cli.validate import MissingInput

ALL = (demo, simulate, import_cmd, ingest, run, validate)

# Errors whose message is enough for the user to act on: printed without a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    MissingInput,
    FileNotFoundError,
    ImportRejected,
    MappingError,
)
