from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from liaison import audit_views, metrics, pii_views, twofa_views, views
from liaison.lockout import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("inbox/", views.inbox, name="inbox"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("pii/phone/<str:label>/<int:pk>/", pii_views.reveal_phone, name="reveal_phone"),
    path("inbox/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("inbox/<int:pk>/", views.inbox_open, name="inbox_open"),
    path("reps/", include("reps.urls")),
    path("studios/", include("studios.urls")),
    path("schedule/", include("studios.schedule_urls")),
    path("tickets/", include("proposals.urls")),
    path("bulletins/", include("proposals.bulletin_urls")),
    path("overview/", include("proposals.overview_urls")),
    path("commendations/", include("proposals.commendation_urls")),
    path("", include("proposals.public_urls")),
    path("open311/v2/", include("proposals.open311_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/setup/", twofa_views.setup, name="twofa_setup"),
    path("accounts/2fa/verify/", twofa_views.verify, name="twofa_verify"),
    path("accounts/2fa/recovery-codes/", twofa_views.recovery_codes, name="twofa_recovery_codes"),
    path("accounts/notifications/", views.notification_settings, name="notification_settings"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
