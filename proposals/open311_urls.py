"""Open311 GeoReport v2 (``proposals.open311_views``): every endpoint in ``.json`` and ``.xml``."""

from django.urls import path, register_converter

from proposals import open311_openapi
from proposals import open311_views as views


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FormatConverter, "format")

app_name = "open311"
urlpatterns = [
    path("openapi.json", open311_openapi.openapi, name="openapi"),
    path("services.<format:fmt>", views.services_list, name="services"),
    path("services/<str:code>.<format:fmt>", views.service_definition, name="service"),
    path("requests.<format:fmt>", views.requests_dispatch, name="requests"),
    path("requests/<str:pk>.<format:fmt>", views.request_detail, name="request"),
    path("tokens/<str:token>.<format:fmt>", views.token_detail, name="token"),
]
