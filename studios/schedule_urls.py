"""The public duty schedule (no login): /schedule/ and the iCalendar feeds."""

from django.urls import path  # noqa: F401 - the schedule views are added here

app_name = "schedule"

urlpatterns: list = []
