"""Only ``proposals/transitions.py`` writes a ticket's events, status or version.

A source scan with ``ast`` of every project module (liaison, reps, studios, proposals; not
migrations, not tests). It reports, outside transitions.py:

- a write of ``TicketEvent`` rows: ``TicketEvent(...)``, ``TicketEvent.objects.create`` /
  ``bulk_create`` / ``get_or_create`` / ``update_or_create`` / ``update`` / ``delete`` /
  ``bulk_update``, the same through a ticket's ``events`` manager;
- a write of a ticket's ``status`` or ``updated_at``: ``.update(status=...)`` or
  ``.update(updated_at=...)`` on a ticket queryset (or on a queryset whose model the scan cannot
  tell), ``.update(**changes)`` on a ticket queryset, ``bulk_update`` / ``update_or_create``
  naming them, a ticket created in a given status, ``ticket.status = ...`` (or ``setattr``) in a
  function that saves that ticket, ``ticket.save(update_fields=[..."status"...])``;
- raw SQL that writes the ticket or event table: a string with INSERT / UPDATE / DELETE naming
  ``proposals_ticket`` or ``proposals_ticketevent``, or ``Ticket._meta.db_table`` /
  ``TicketEvent._meta.db_table`` (how raw SQL names them).

The self-tests below run the same checker on snippets that break the rule, and on snippets that
look alike but do not (another model's status, a ticket's status read back into memory).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("liaison", "reps", "studios", "proposals")
THE_WRITER = "proposals/transitions.py"
MODELS = {"Ticket", "TicketEvent"}
VERSIONED = {"status", "updated_at"}
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "update", "delete", "bulk_update"}
RAW_WRITE = re.compile(
    r"\b(insert\s+into|update|delete\s+from)\b.*\bproposals_ticket(event)?\b", re.IGNORECASE | re.DOTALL
)

# Writes that are not a move, each with its reason: (module, function, rule).
ALLOWED = {
    ("proposals/services.py", "ticket_register", "event"): (
        "a ticket's first event (register, from no status) is written with the new ticket: a birth, not a move"
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str
    rule: str  # "event", "status" or "sql"
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): {self.what}"


def _chain(node: ast.AST) -> tuple[ast.AST, list[str]]:
    """``Ticket.objects.filter(...).update`` → (Name Ticket, ["objects", "filter", "update"])."""
    attrs: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call) and not _is_get_model(node):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return node, attrs[::-1]


def _is_get_model(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Attribute) and node.func.attr == "get_model"


def _literal_strings(node: ast.AST | None) -> set[str] | None:
    """The strings of a literal list/tuple/set; None when it is not one."""
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return {e.value for e in node.elts}
    return None


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


class _Scope:
    """The names a function binds: to what expression, and which are annotated as a model."""

    def __init__(self, parent: _Scope | None = None):
        self.parent = parent
        self.bound: dict[str, ast.AST] = {}
        self.annotated: dict[str, str] = {}

    def lookup(self, name: str) -> ast.AST | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.bound:
                return scope.bound[name]
            scope = scope.parent
        return None

    def annotation(self, name: str) -> str | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.annotated:
                return scope.annotated[name]
            scope = scope.parent
        return None


class Checker(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path = path
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name → "Ticket" / "TicketEvent"
        self.function = "<module>"
        self.scope = _Scope()

    # --- what a name or an expression is -------------------------------------------------------

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name in MODELS:
                self.aliases[alias.asname or alias.name] = alias.name

    def _model_of(self, node: ast.AST, depth: int = 0) -> str | None:
        """ "Ticket", "TicketEvent", "other" (another model) or None (cannot tell) for an expression."""
        if depth > 8:
            return None
        root, attrs = _chain(node)
        if "events" in attrs[:-1] or (attrs and attrs[-1] == "events"):
            return "TicketEvent"  # a ticket's related manager
        if isinstance(root, ast.Call):  # apps.get_model("proposals", "TicketEvent")
            names = [a.value.split(".")[-1] for a in root.args if isinstance(a, ast.Constant)]
            return next((n for n in names if n in MODELS), "other")
        if isinstance(root, ast.Name):
            if root.id in self.aliases:
                return self.aliases[root.id]
            if (annotated := self.scope.annotation(root.id)) is not None:
                return annotated
            bound = self.scope.lookup(root.id)
            if bound is not None:
                return self._model_of(bound, depth + 1)
            if root.id[:1].isupper():
                return "other"
            if "ticket" in root.id.lower() and not attrs:
                return "Ticket"
        if isinstance(root, ast.Attribute | ast.Name) and attrs and attrs[0] in MODELS:
            return attrs[0]  # models.Ticket.objects...
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
        ):
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for name in names:
                if name.split(".")[-1] in MODELS:
                    return name.split(".")[-1]
        return None

    def _is_ticket(self, node: ast.AST) -> bool:
        """An expression that holds one ticket: ``ticket``, ``self.ticket``, a loop over tickets..."""
        if isinstance(node, ast.Attribute) and "ticket" in node.attr.lower():
            return True
        if isinstance(node, ast.Name):
            model = self._model_of(node)
            return model == "Ticket" or (model is None and "ticket" in node.id.lower())
        return False

    def report(self, node: ast.AST, rule: str, what: str) -> None:
        self.findings.append(Finding(self.path, node.lineno, self.function, rule, what))

    # --- scopes ------------------------------------------------------------------------------------

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer_function, outer_scope = self.function, self.scope
        self.function, self.scope = node.name, _Scope(outer_scope)
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            if arg.annotation is not None:
                text = ast.unparse(arg.annotation)
                for model in sorted(MODELS, key=len, reverse=True):
                    if re.search(rf"\b{model}\b", text):
                        self.scope.annotated[arg.arg] = model
                        break
        for child in ast.walk(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        self.scope.bound[target.id] = child.value
            elif isinstance(child, ast.For | ast.comprehension) and isinstance(child.target, ast.Name):
                self.scope.bound[child.target.id] = child.iter
        self._check_assigned_then_saved(node)
        self.generic_visit(node)
        self.function, self.scope = outer_function, outer_scope

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _check_assigned_then_saved(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """``ticket.status = ...`` (or setattr) in a function that also saves that same ticket."""
        saved = {
            ast.dump(node.func.value)
            for node in ast.walk(function)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "save"
        }
        for node in ast.walk(function):
            targets: list[tuple[ast.AST, str, ast.AST]] = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                        if isinstance(element, ast.Attribute):
                            targets.append((element.value, element.attr, node))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                targets.append((node.args[0], str(node.args[1].value), node))
            for obj, name, where in targets:
                if name in VERSIONED and ast.dump(obj) in saved and self._is_ticket(obj):
                    self.function = function.name
                    self.report(where, "status", f"sets {ast.unparse(obj)}.{name} and saves it")

    # --- calls and strings ----------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and self.aliases.get(func.id) == "TicketEvent":
            self.report(node, "event", "builds a TicketEvent")
        if isinstance(func, ast.Name) and self.aliases.get(func.id) == "Ticket" and _keyword(node, "status"):
            self.report(node, "status", "builds a ticket in a given status")
        if isinstance(func, ast.Attribute):
            method, model = func.attr, None
            if method in WRITES or method == "save":
                model = self._model_of(func.value)
            if method in WRITES and model == "TicketEvent":
                self.report(node, "event", f"TicketEvent {method}()")
            elif method == "update" and model in ("Ticket", None):
                named = VERSIONED & {k.arg for k in node.keywords}
                splat = model == "Ticket" and any(k.arg is None for k in node.keywords)
                if named or splat:
                    fields = ", ".join(sorted(named)) or "**" + ast.unparse(node.keywords[-1].value)
                    self.report(node, "status", f"update({fields}) on {ast.unparse(func.value)[:60]}")
            elif method in ("create", "get_or_create", "update_or_create") and model == "Ticket":
                defaults = _keyword(node, "defaults")
                in_defaults = isinstance(defaults, ast.Dict) and any(
                    isinstance(k, ast.Constant) and k.value in VERSIONED for k in defaults.keys
                )
                if _keyword(node, "status") or in_defaults:
                    self.report(node, "status", f"Ticket {method}() in a given status")
            elif method == "bulk_update" and model == "Ticket":
                fields = _literal_strings(node.args[1] if len(node.args) > 1 else _keyword(node, "fields"))
                if fields is None or fields & VERSIONED:
                    self.report(node, "status", "bulk_update() of tickets' status or version")
            elif method == "save" and self._is_ticket(func.value):
                fields = _literal_strings(_keyword(node, "update_fields"))
                if fields and fields & VERSIONED:
                    self.report(node, "status", f"save(update_fields={sorted(fields)})")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "db_table" and isinstance(node.value, ast.Attribute) and node.value.attr == "_meta":
            model = self._model_of(node.value.value)
            if model in MODELS:
                self.report(node, "sql", f"names the {model} table for raw SQL")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and RAW_WRITE.search(node.value):
            self.report(node, "sql", "raw SQL writing the ticket or event table")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        if RAW_WRITE.search(text):
            self.report(node, "sql", "raw SQL writing the ticket or event table")
        else:
            self.generic_visit(node)


def scan(source: str, path: str = "snippet.py") -> list[Finding]:
    checker = Checker(path)
    checker.visit(ast.parse(textwrap.dedent(source)))
    return checker.findings


def project_modules() -> list[Path]:
    return sorted(
        p
        for app in APPS
        for p in (ROOT / app).rglob("*.py")
        if "migrations" not in p.relative_to(ROOT).parts and ".venv" not in p.parts
    )


def project_findings() -> list[Finding]:
    findings = []
    for path in project_modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative != THE_WRITER:
            findings += scan(path.read_text(encoding="utf-8"), relative)
    return findings


# --- the rule, on the project ---------------------------------------------------------------------


def test_only_transitions_writes_a_tickets_events_status_or_version():
    findings = project_findings()
    unexplained = [f for f in findings if (f.path, f.function, f.rule) not in ALLOWED]
    assert unexplained == [], "\n".join(
        ["Move tickets with proposals.transitions (transition / transition_many):", *map(str, unexplained)]
    )


def test_every_allowed_write_still_exists():
    """An exception nobody needs any more is deleted, not kept as a hole in the rule."""
    used = {(f.path, f.function, f.rule) for f in project_findings()}
    assert set(ALLOWED) - used == set()


def test_the_scan_reads_every_app_and_finds_the_writes_of_transitions_itself():
    """The scan is not blind: it reads all four apps, and on the one writer it finds the writes."""
    modules = {p.relative_to(ROOT).parts[0] for p in project_modules()}
    assert modules == set(APPS)
    found = scan((ROOT / THE_WRITER).read_text(encoding="utf-8"), THE_WRITER)
    by_function = {(f.function, f.rule) for f in found}
    assert {
        ("transition", "status"),  # .update(status=target, updated_at=version, ...)
        ("transition", "event"),  # TicketEvent.objects.create
        ("_move_many", "sql"),  # INSERT INTO <TicketEvent._meta.db_table> ... SELECT
        ("_move_many", "status"),  # .update(status=target, updated_at=version, ...)
    } <= by_function


# --- the checker, on snippets -----------------------------------------------------------------------

BREAKING = {
    "event create": """
        from proposals.models import TicketEvent
        def f(ticket):
            TicketEvent.objects.create(ticket=ticket, move="close", to_status="closed")
    """,
    "event bulk_create": """
        from proposals.models import TicketEvent as Event
        def f(rows):
            Event.objects.bulk_create([Event(ticket_id=i, move="conclude") for i in rows])
    """,
    "event through the ticket": """
        def f(ticket):
            ticket.events.create(move="close", to_status="closed")
    """,
    "event through get_model": """
        def f(apps):
            apps.get_model("proposals", "TicketEvent").objects.bulk_create([])
    """,
    "status update": """
        from proposals.models import Ticket
        def f(ids):
            Ticket.objects.filter(pk__in=ids, status="forwarded").update(status="closed")
    """,
    "version update on a queryset from elsewhere": """
        def f(due, now):
            due.update(updated_at=now)
    """,
    "update with a dict of changes": """
        from proposals.models import Ticket
        def f(ids, target):
            tickets = Ticket.objects.filter(pk__in=ids)
            changes = {"status": target}
            tickets.update(**changes)
    """,
    "assign and save": """
        def f(ticket):
            ticket.status = "closed"
            ticket.save()
    """,
    "assign in a loop and save": """
        from proposals.models import Ticket
        def f():
            for t in Ticket.objects.filter(status="forwarded"):
                setattr(t, "status", "closed")
                t.save()
    """,
    "save named fields": """
        def f(self):
            self.ticket.save(update_fields=["status", "closed_at"])
    """,
    "created in a status": """
        from proposals.models import Ticket
        def f(**fields):
            Ticket.objects.create(status="closed", **fields)
    """,
    "raw SQL": """
        from django.db import connection
        def f(ids):
            with connection.cursor() as c:
                c.execute("UPDATE proposals_ticket SET status = 'closed' WHERE id = ANY(%s)", [ids])
    """,
    "raw SQL by the model's table name": """
        from proposals.models import TicketEvent
        def f(cursor, select_sql):
            cursor.execute(f"INSERT INTO {TicketEvent._meta.db_table} (ticket_id) " + select_sql)
    """,
    # The sweep's conclusion as it was before transition_many (reminders._conclude_batch and
    # _insert_conclude_events), cut down: its two writes are both found.
    "the old sweep": """
        from django.db import connection
        from proposals.models import Ticket, TicketEvent
        def _conclude_batch(outcomes, version, now):
            for (target, resolution), ids in outcomes.items():
                changes = {"status": target, "updated_at": version}
                Ticket.objects.filter(pk__in=ids, status="forwarded").update(**changes)
        def _insert_conclude_events(select_sql):
            qn = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {qn(TicketEvent._meta.db_table)} SELECT * FROM ({select_sql}) s")
    """,
}


@pytest.mark.parametrize("snippet", BREAKING.values(), ids=BREAKING.keys())
def test_the_checker_reports_a_snippet_that_breaks_the_rule(snippet):
    assert scan(snippet) != []


def test_the_checker_reports_each_write_of_the_old_sweep_where_it_was():
    found = {(f.function, f.rule) for f in scan(BREAKING["the old sweep"])}
    assert found == {("_conclude_batch", "status"), ("_insert_conclude_events", "sql")}


HARMLESS = {
    "another model's status": """
        from liaison.models import Delivery
        def f(delivery):
            delivery.status = Delivery.Status.FAILED
            delivery.save(update_fields=["status", "attempts"])
    """,
    "another model's update": """
        from reps.models import ImportJob
        def f(job_id, now):
            ImportJob.objects.filter(pk=job_id, status="running").update(status="done", updated_at=now)
    """,
    "a ticket's status read back into memory": """
        from proposals.models import Ticket
        def _lock(ticket):
            row = Ticket.objects.select_for_update().filter(pk=ticket.pk).values("status", "updated_at").get()
            ticket.status, ticket.updated_at = row["status"], row["updated_at"]
    """,
    "reading the events": """
        from proposals.models import TicketEvent
        def f(now):
            return TicketEvent.objects.filter(at__lte=now).select_related("ticket").count()
    """,
    "a ticket's other fields": """
        from proposals.models import Ticket
        def f(ticket):
            Ticket.objects.filter(pk=ticket.pk).update(title="new")
    """,
}


@pytest.mark.parametrize("snippet", HARMLESS.values(), ids=HARMLESS.keys())
def test_the_checker_leaves_alone_what_only_looks_like_it(snippet):
    assert scan(snippet) == []
