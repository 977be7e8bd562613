from django.urls import path

from proposals import bulletin_views

app_name = "bulletins"

urlpatterns = [
    path("", bulletin_views.bulletin_list, name="index"),
    path("new/", bulletin_views.bulletin_new, name="new"),
    path("<int:pk>/", bulletin_views.bulletin_detail, name="detail"),
    path("<int:pk>/print/", bulletin_views.bulletin_print, name="print"),
    path("<int:pk>/edit/", bulletin_views.bulletin_edit, name="edit"),
    path("<int:pk>/refresh/", bulletin_views.bulletin_refresh, name="refresh"),
    path("<int:pk>/publish/", bulletin_views.bulletin_publish, name="publish"),
]
