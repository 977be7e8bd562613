from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _


class LiaisonAdminSite(AdminSite):
    site_header = _("Party Representative Liaison Studios")
    site_title = _("Liaison administration")
    index_title = _("Administration")
    # The app list beside every changelist leaves the lists too narrow at 1280 px; the
    # breadcrumbs and the index lead back to it.
    enable_nav_sidebar = False

    def register(self, model_or_iterable, admin_class=None, **options):
        """Register as Django does, with every ModelAdmin audited: one that does not already
        derive from ``AuditedAdminMixin`` gets it mixed in, so no admin writes unrecorded."""
        from liaison.admin_mixins import AuditedAdmin, AuditedAdminMixin

        if admin_class is None:
            admin_class = AuditedAdmin
        elif not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(admin_class.__name__, (AuditedAdminMixin, admin_class), {})
        super().register(model_or_iterable, admin_class, **options)

    def each_context(self, request):
        """Django's context of every admin page, its ``available_apps`` built only if read.

        Only the nav sidebar reads it (disabled above); building it asks every registered admin
        for the user's permissions on its model (about 4 ms of every admin page for the liaison
        office). The index and an app's page build their own list, as Django does.
        """
        request._liaison_lazy_app_list = True
        try:
            return super().each_context(request)
        finally:
            del request._liaison_lazy_app_list

    def get_app_list(self, request, app_label=None):
        if getattr(request, "_liaison_lazy_app_list", False):
            return SimpleLazyObject(lambda: AdminSite.get_app_list(self, request, app_label))
        return super().get_app_list(request, app_label)

    def has_permission(self, request) -> bool:
        # is_staff is derived from the user's roles (see User.is_staff). A second factor the
        # user's policy asks for must be confirmed too (TwoFactorMiddleware sends them to it).
        from liaison import twofa

        return request.user.is_active and request.user.is_staff and twofa.satisfied(request.user)

    def login(self, request, extra_context=None):
        """Send everyone to the one login page of the product.

        A signed-in user without an admin role gets the 403 page: sending them to the login
        page would bounce straight back here.
        """
        if request.user.is_authenticated:
            raise PermissionDenied
        target = request.GET.get("next") or request.get_full_path()
        return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': target})}")


class LiaisonAdminConfig(AdminConfig):
    default_site = "liaison.admin_site.LiaisonAdminSite"
