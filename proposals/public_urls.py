"""Public pages (no login): intake, tracking, published results."""

from django.urls import path

app_name = "public"
urlpatterns: list = []
