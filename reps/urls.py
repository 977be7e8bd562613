from django.urls import path

from reps import views

app_name = "reps"

urlpatterns = [
    path("me/", views.me, name="me"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/new/", views.contact_add, name="contact_add"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("duty/", views.duty, name="duty"),
    path("network/", views.network, name="network"),
]
