"""Public pages (no login): intake, tracking, published results."""

from django.urls import path

from proposals import public_views as views

app_name = "public"
urlpatterns = [
    path("intake/", views.intake, name="intake"),
    path("intake/receipt/", views.receipt, name="receipt"),
    path("privacy/", views.privacy, name="privacy"),
    path("track/", views.track, name="track"),
    path("track/ticket/", views.track_ticket, name="track_ticket"),
    path("track/attachment/<int:pk>/", views.track_attachment, name="track_attachment"),
    path("results/", views.results, name="results"),
    path("results/<int:pk>/", views.result_detail, name="result_detail"),
]
