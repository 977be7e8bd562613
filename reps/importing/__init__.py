"""Import representatives and contacts from the .xlsx sheets staff keep, and export them back;
the same machinery imports the kinds higher apps register (``specs.register``: the 12345 hotline's
work orders as tickets, ``proposals.hotline``).

An import is an ``ImportJob``. A worker checks the sheet (``import_check``): every row is read
and validated against the database and the uploader's scope, bad rows are recorded with their
row number, column and reason, and nothing but the job is written. When the sheet is clean the
uploader starts the import, and a worker writes every row or none (``import_apply``). The
sheet's columns are Chinese, as the sheets staff already keep; an export uses the same columns,
so an exported list can be edited and imported again.

Who a row is: a person is matched on name + phone (name + township or village when the row has
no phone). A person already in the database is updated, not duplicated, so importing the same
sheet twice creates nothing new; a person on several rows of a representatives' sheet is one
representative with one mandate per row.

The modules, each using only those above it:

- ``reading``: the .xlsx file → its header and rows; a cell → text.
- ``specs``: the kinds of sheet (columns, cell parsers, row rules), the people's two, the
  registry of every kind.
- ``checking``: the check of any kind's sheet (``Row``, ``Places``), and the people's: every row
  validated, the plan of what to write.
- ``writing``: one writer for both people's kinds: the plan in batches.
- ``jobs``: the job's lifecycle and progress, the services the pages and the tasks call.
- ``exporting``: the template and the admin's exports, in the same columns.
"""

from reps.importing.exporting import export_rows, template_bytes
from reps.importing.jobs import (
    ALLOWED,
    MAX_STORED_ERRORS,
    PROGRESS_EVERY,
    Status,
    discard_file,
    import_apply,
    import_check,
    import_fail,
    import_start,
    import_upload,
    sweep_files,
)
from reps.importing.reading import MAX_ROWS, MAX_UPLOAD_BYTES, TooManyRows, UnreadableSheet, read_sheet
from reps.importing.specs import (
    CATEGORY_COLUMNS,
    COLUMNS,
    CONTACT_COLUMNS,
    PEOPLE,
    REP_COLUMNS,
    Column,
    Kind,
    SheetKind,
    columns_for,
    may_import,
    missing_columns,
    register,
    spec_for,
)

__all__ = [
    "ALLOWED",
    "CATEGORY_COLUMNS",
    "COLUMNS",
    "CONTACT_COLUMNS",
    "MAX_ROWS",
    "MAX_STORED_ERRORS",
    "MAX_UPLOAD_BYTES",
    "PEOPLE",
    "PROGRESS_EVERY",
    "REP_COLUMNS",
    "Column",
    "Kind",
    "SheetKind",
    "Status",
    "TooManyRows",
    "UnreadableSheet",
    "columns_for",
    "export_rows",
    "import_apply",
    "import_check",
    "import_fail",
    "discard_file",
    "sweep_files",
    "import_start",
    "import_upload",
    "may_import",
    "missing_columns",
    "register",
    "spec_for",
    "read_sheet",
    "template_bytes",
]
