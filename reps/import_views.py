"""Pages to import representatives and contacts from Excel: upload, progress and preview, import.

The work happens in ``reps.importing`` (run by a worker, see ``reps.tasks``); these pages
upload a sheet, show the job's progress (the page polls ``import_status``), list the bad rows
and start the import of a clean sheet. A job is its uploader's own: anyone else gets 404.
The upload form, the job lookup and the job page's context serve every kind of sheet: the
12345 hotline's import (``proposals.hotline_views``) has its pages made of them.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from liaison.exports import XLSX
from liaison.forms import CleanInputMixin
from liaison.models import Region
from reps import importing
from reps.models import ImportJob

Kind = ImportJob.Kind
RECENT_JOBS = 10


class ImportUploadForm(CleanInputMixin, forms.Form):
    """An .xlsx sheet of one kind, and the county or township its rows belong to."""

    region = forms.ModelChoiceField(label=_("Import into"), queryset=Region.objects.none(), empty_label=None)
    file = forms.FileField(
        label=_("Excel file (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{XLSX}"}),
    )

    def __init__(self, *args, kind: str, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["region"].queryset = regions

    def clean_file(self):
        upload = self.cleaned_data["file"]
        spec = importing.spec_for(self.kind)
        if upload.size > importing.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(limit)s."),
                code="too_large",
                params={
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(importing.MAX_UPLOAD_BYTES),
                },
            )
        try:
            sheet = importing.read_sheet(upload, header_only=True, anchor=spec.anchor)
        except (importing.UnreadableSheet, importing.TooManyRows):
            raise forms.ValidationError(
                _("This is not an Excel .xlsx file that can be read. Save it as an Excel workbook (.xlsx)."),
                code="not_xlsx",
            ) from None
        sheet.read_aliases(spec.columns)
        missing = importing.missing_columns(self.kind, sheet.columns)
        if missing:
            raise forms.ValidationError(
                _("The sheet lacks the columns: %(columns)s. Start from the template."),
                code="columns",
                params={"columns": "、".join(missing)},
            )
        return upload


PAGE_KINDS = [spec.kind for spec in importing.PEOPLE]  # the kinds of this page


def _kinds(user) -> list[str]:
    return [kind for kind in PAGE_KINDS if importing.may_import(kind, user)]


def require_kind(request, kind: str, *, kinds=PAGE_KINDS) -> str:
    """``kind`` if it is one of the page's ``kinds`` and the user may import it (404, 403)."""
    if kind not in kinds:
        raise Http404
    if not importing.may_import(kind, request.user):
        raise PermissionDenied
    return kind


def _regions(user):
    """The counties and townships the user may import into, widest first."""
    return Region.objects.visible_to(user).exclude(level=Region.Level.VILLAGE).order_by("path")


def upload_form(request, kind: str, data=None, files=None) -> ImportUploadForm:
    return ImportUploadForm(data, files, kind=kind, regions=_regions(request.user), prefix=kind)


def own_job(request, pk: int, *, kinds=PAGE_KINDS) -> ImportJob:
    """The user's own job of one of the page's ``kinds`` (404 for anyone else's, or another page's)."""
    job = get_object_or_404(
        ImportJob.objects.select_related("region"), pk=pk, created_by=request.user, kind__in=kinds
    )
    require_kind(request, job.kind, kinds=kinds)
    return job


def _index(request, bound: ImportUploadForm | None = None, status: int = 200):
    kinds = _kinds(request.user)
    if not kinds:
        raise PermissionDenied
    cards = [
        {
            "kind": kind,
            "label": Kind(kind).label,
            "form": bound if bound is not None and bound.kind == kind else upload_form(request, kind),
        }
        for kind in kinds
    ]
    jobs = ImportJob.objects.filter(created_by=request.user, kind__in=kinds).select_related("region")
    return render(
        request,
        "reps/import_index.html",
        {"cards": cards, "jobs": jobs[:RECENT_JOBS], "max_rows": importing.MAX_ROWS},
        status=status,
    )


@login_required
def import_index(request):
    return _index(request)


@login_required
@require_POST
def import_upload(request, kind: str):
    require_kind(request, kind)
    form = upload_form(request, kind, request.POST, request.FILES)
    if not form.is_valid():
        return _index(request, bound=form, status=400)
    job = importing.import_upload(
        actor=request.user, kind=kind, region=form.cleaned_data["region"], upload=form.cleaned_data["file"]
    )
    return redirect("reps:import_job", pk=job.pk)


@login_required
def import_template(request, kind: str):
    require_kind(request, kind)
    response = HttpResponse(importing.template_bytes(kind), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="import-{kind}.xlsx"'
    return response


def error_rows(job: ImportJob) -> list[dict]:
    """The job's errors with their messages in the reader's language."""
    return [
        {
            "row": error.get("row"),
            "column": error.get("column", ""),
            "text": gettext(error["message"]) % error["params"]
            if error.get("params")
            else gettext(error["message"]),
        }
        for error in job.errors
    ]


def job_context(job: ImportJob, *, urls: str = "reps:import") -> dict:
    """What the job page shows: the job, its errors in the reader's language, its summary, and
    the addresses of its page's index, status and apply (``urls``, ``urls_status``, ...)."""
    return {
        "job": job,
        "index_url": reverse(urls),
        "status_url": reverse(f"{urls}_status", args=[job.pk]),
        "apply_url": reverse(f"{urls}_apply", args=[job.pk]),
        "errors": error_rows(job),
        "summary": job.summary,
        "more_errors": max(0, job.summary.get("errors", 0) - len(job.errors)),
    }


@login_required
def import_job(request, pk: int):
    job = own_job(request, pk)
    return render(request, "reps/import_job.html", job_context(job))


def status_response(job: ImportJob) -> JsonResponse:
    """The job's progress, as the job page polls it."""
    return JsonResponse(
        {
            "status": job.status,
            "label": job.get_status_display(),
            "running": job.is_running,
            "total": job.total_rows,
            "processed": job.processed_rows,
            "percent": job.percent,
            "errors": job.summary.get("errors", len(job.errors)),
        }
    )


@never_cache
@login_required
def import_status(request, pk: int):
    return status_response(own_job(request, pk))


def start(request, job: ImportJob) -> None:
    """Start the import of a checked sheet, and say whether it started (a second click does not)."""
    if importing.import_start(actor=request.user, job=job):
        messages.success(request, _("The import has started."))
    else:
        messages.warning(request, _("This sheet cannot be imported now."))


@login_required
@require_POST
def import_apply(request, pk: int):
    job = own_job(request, pk)
    start(request, job)
    return redirect("reps:import_job", pk=job.pk)
