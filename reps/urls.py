from django.urls import path

from reps import (
    assessment_views,
    duty_report_views,
    group_report_views,
    import_views,
    public_views,
    record_views,
    views,
)

app_name = "reps"

urlpatterns = [
    path("", public_views.directory, name="directory"),
    path("<int:pk>/", public_views.detail, name="public_detail"),
    path("<int:pk>/card/", public_views.card, name="card"),
    path("me/", views.me, name="me"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("activities/new/", views.activity_new, name="activity_new"),
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/new/", views.contact_add, name="contact_add"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("reports/", views.reports, name="reports"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:pk>/file/", views.report_file, name="report_file"),
    path("duty-reports/", duty_report_views.duty_reports, name="duty_reports"),
    path("duty-reports/mine/", duty_report_views.duty_report_mine, name="duty_report_new"),
    path("duty-reports/<int:pk>/evaluate/", duty_report_views.evaluate, name="duty_report_evaluate"),
    path("duty-reports/<int:pk>/file/", duty_report_views.duty_report_file, name="duty_report_file"),
    path("duty/", views.duty, name="duty"),
    path("groups/<int:pk>/report/", group_report_views.group_report, name="group_report"),
    path("group-reports/", group_report_views.group_reports, name="group_reports"),
    path("group-reports/<int:pk>/file/", group_report_views.group_report_download, name="group_report_file"),
    path("network/", views.network, name="network"),
    path("assessment/", assessment_views.assessment_page, name="assessment"),
    path("assessment/publish/", assessment_views.publish, name="assessment_publish"),
    path("assessment/review/", assessment_views.review_scores, name="review_scores"),
    path("assessment/rows/<int:pk>/amend/", assessment_views.amend, name="assessment_amend"),
    path("<int:pk>/record/", record_views.record_page, name="record"),
    path("import/", import_views.import_index, name="import"),
    path("import/<int:pk>/", import_views.import_job, name="import_job"),
    path("import/<int:pk>/status/", import_views.import_status, name="import_status"),
    path("import/<int:pk>/apply/", import_views.import_apply, name="import_apply"),
    path("import/<str:kind>/upload/", import_views.import_upload, name="import_upload"),
    path("import/<str:kind>/template.xlsx", import_views.import_template, name="import_template"),
]
