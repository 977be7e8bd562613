from django.urls import path

from proposals import stats_views

app_name = "overview"

urlpatterns = [path("", stats_views.overview, name="index")]
