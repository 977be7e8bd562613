from django.urls import path

from proposals import matters, stats_views, views, views_adoption, views_create, views_summary

app_name = "proposals"

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("new/", views_create.create, name="create"),
    path("matters/", matters.matter_list, name="matters"),
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
