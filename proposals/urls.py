from django.urls import path

from proposals import hotline_views, matters, stats_views, views, views_adoption, views_create, views_summary

app_name = "proposals"

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("new/", views_create.create, name="create"),
    path("matters/", matters.matter_list, name="matters"),
    path("import/", hotline_views.hotline_import, name="hotline_import"),
    path("import/upload/", hotline_views.hotline_upload, name="hotline_import_upload"),
    path("import/template.xlsx", hotline_views.hotline_template, name="hotline_import_template"),
    path("import/<int:pk>/", hotline_views.hotline_job, name="hotline_import_job"),
    path("import/<int:pk>/status/", hotline_views.hotline_status, name="hotline_import_status"),
    path("import/<int:pk>/apply/", hotline_views.hotline_apply, name="hotline_import_apply"),
    path("statistics/", stats_views.suggestion_statistics, name="statistics"),
    path("statistics.xlsx", stats_views.statistics_export, name="statistics_export"),
    path("overdue-by-unit/", views.overdue_by_unit, name="overdue_by_unit"),
    path("from-reception/<int:pk>/", views_create.from_reception_matter, name="from_reception_matter"),
    path("from-visit/<int:pk>/", views_create.from_visit_matter, name="from_visit_matter"),
    path("export.xlsx", views.export, name="export"),
    path("weekly.xlsx", views.weekly_export, name="weekly_export"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/summary/", views_summary.correct_summary, name="correct_summary"),
    path("<int:pk>/adopt/", views_adoption.adopt, name="adopt"),
    path("<int:pk>/<slug:move>/", views.act, name="act"),
]
