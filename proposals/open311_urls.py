"""Open311 GeoReport v2 (``proposals.open311_views``): every endpoint in ``.json`` and ``.xml``."""

from django.urls import re_path

from proposals import open311_views as views

app_name = "open311"
FMT = r"\.(?P<fmt>json|xml)$"
urlpatterns = [
    re_path(r"^services" + FMT, views.services_list, name="services"),
    re_path(r"^services/(?P<code>[^/.]+)" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests_dispatch, name="requests"),
    re_path(r"^requests/(?P<pk>[^/.]+)" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token_detail, name="token"),
]
