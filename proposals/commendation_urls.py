"""Annual commendations: the office's round and the public lists."""

from django.urls import path

from proposals import commendation_views as views

app_name = "commendations"
urlpatterns = [
    path("", views.public_page, name="public"),
    path("round/", views.round_page, name="round"),
    path("round/open/", views.round_open, name="open"),
    path("round/<int:pk>/nominate/<str:kind>/", views.nominate, name="nominate"),
    path("round/<int:pk>/add/<str:kind>/", views.add, name="add"),
    path("round/<int:pk>/publish/", views.publish, name="publish"),
    path("nominees/<int:pk>/remove/", views.remove, name="remove"),
    path("nominees/<int:pk>/move/", views.move, name="move"),
]
