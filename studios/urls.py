from django.urls import path

from studios import views

app_name = "studios"

urlpatterns = [
    path("rosters/", views.rosters, name="rosters"),
    path("rosters/generate/", views.generate, name="generate"),
    path("periods/<int:pk>/", views.period_detail, name="period"),
    path("periods/<int:pk>/publish/", views.period_publish, name="period_publish"),
    path("slots/<int:pk>/edit/", views.slot_edit, name="slot_edit"),
    path("attendance/<int:pk>/", views.attendance, name="attendance"),
    path("my-duties/", views.my_duties, name="my_duties"),
]
