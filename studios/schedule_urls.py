"""The public duty schedule (no login): /schedule/ and the iCalendar feeds."""

from django.urls import path

from studios import public_views

app_name = "schedule"

urlpatterns = [
    path("", public_views.index, name="index"),
    path("studio/<int:pk>/", public_views.studio_detail, name="studio"),
    path("studio/<int:pk>.ics", public_views.studio_feed, name="studio_ics"),
    path("rep/<int:pk>.ics", public_views.rep_feed, name="rep_ics"),
]
