"""Pages to import 12345 hotline work orders from Excel: upload, preview, import (``proposals.hotline``).

Made of the representatives' import pages' parts (``reps.import_views``): the same upload form
and checks, the same job page with the hotline's preview (the orders to register, those already
imported), for township staff and the liaison office. A job is its uploader's own.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from liaison.exports import XLSX
from reps import importing
from reps.import_views import (
    RECENT_JOBS,
    ImportUploadForm,
    job_context,
    own_job,
    require_kind,
    start,
    status_response,
    upload_form,
)
from reps.models import ImportJob

HOTLINE = ImportJob.Kind.HOTLINE
KINDS = [HOTLINE]
URLS = "proposals:hotline_import"


def may_import_hotline(user) -> bool:
    return importing.may_import(HOTLINE, user)


def _index(request, bound: ImportUploadForm | None = None, status: int = 200):
    if not may_import_hotline(request.user):
        raise PermissionDenied
    jobs = ImportJob.objects.filter(created_by=request.user, kind=HOTLINE).select_related("region")
    return render(
        request,
        "proposals/hotline_import.html",
        {
            "form": bound or upload_form(request, HOTLINE),
            "columns": importing.columns_for(HOTLINE),
            "jobs": jobs[:RECENT_JOBS],
            "max_rows": importing.MAX_ROWS,
        },
        status=status,
    )


@login_required
def hotline_import(request):
    return _index(request)


@login_required
@require_POST
def hotline_upload(request):
    require_kind(request, HOTLINE, kinds=KINDS)
    form = upload_form(request, HOTLINE, request.POST, request.FILES)
    if not form.is_valid():
        return _index(request, bound=form, status=400)
    job = importing.import_upload(
        actor=request.user, kind=HOTLINE, region=form.cleaned_data["region"], upload=form.cleaned_data["file"]
    )
    return redirect("proposals:hotline_import_job", pk=job.pk)


@login_required
def hotline_template(request):
    require_kind(request, HOTLINE, kinds=KINDS)
    response = HttpResponse(importing.template_bytes(HOTLINE), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="import-12345.xlsx"'
    return response


@login_required
def hotline_job(request, pk: int):
    job = own_job(request, pk, kinds=KINDS)
    return render(request, "proposals/hotline_job.html", job_context(job, urls=URLS))


@never_cache
@login_required
def hotline_status(request, pk: int):
    return status_response(own_job(request, pk, kinds=KINDS))


@login_required
@require_POST
def hotline_apply(request, pk: int):
    job = own_job(request, pk, kinds=KINDS)
    start(request, job)
    return redirect("proposals:hotline_import_job", pk=job.pk)
