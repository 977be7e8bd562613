from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiaisonConfig(AppConfig):
    default = True
    name = "liaison"
    verbose_name = _("Organisation and users")

    def ready(self) -> None:
        from liaison import checks, navigation
        from liaison.roles import Role, crud, grant

        assert checks  # imported to register the system checks (liaison.checks)

        # Reminders, notifications and deliveries are an append-only ledger: staff read it
        # (and resend a failed delivery), nobody edits it.
        ledger = [
            *crud("liaison.reminder", "view"),
            *crud("liaison.notification", "view"),
            *crud("liaison.delivery", "view"),
            *crud("liaison.auditevent", "view"),
        ]

        grant(
            Role.LIAISON_OFFICE,
            *crud("liaison.region", "view", "add", "change"),
            *crud("liaison.handlingunit", "view", "add", "change", "delete"),
            *crud("liaison.user", "view", "add", "change"),
            *crud("liaison.roleassignment", "view", "add", "change", "delete"),
            *crud("liaison.annualmeeting", "view", "add", "change", "delete"),
            *crud("liaison.category", "view", "add", "change", "delete"),
            *crud("liaison.securitypolicy", "view", "add", "change"),
            *crud("liaison.loginthrottle", "view", "change"),  # change: the unlock action
            *ledger,
        )
        grant(
            Role.TOWNSHIP_STAFF,
            *crud("liaison.region", "view", "add", "change"),
            *crud("liaison.handlingunit", "view", "add", "change"),
            *crud("liaison.user", "view", "add", "change"),
            *crud("liaison.roleassignment", "view", "add", "change", "delete"),
            *crud("liaison.annualmeeting", "view"),
            *crud("liaison.category", "view"),
            *ledger,
        )
        # Signed-in users reach home by the brand; the bar keeps its room for their work.
        navigation.register(navigation.NavItem(_("Home"), "home", order=0, public=True, visitors_only=True))
        navigation.register(
            navigation.NavItem(
                _("Administration"), "admin:index", roles=navigation.ADMIN, order=90, in_user_menu=True
            )
        )
        # The audit log (安全审计), read-only: the liaison office its county, township staff their
        # township, superusers everything (liaison.audit_views).
        navigation.register(
            navigation.NavItem(
                _("Audit log"), "audit_log", roles=navigation.STAFF, order=91, in_user_menu=True
            )
        )
        # The second factor's page (liaison.twofa): new recovery codes, or setting it up.
        navigation.register(
            navigation.NavItem(
                _("Two-step sign-in"),
                "twofa_recovery_codes",
                roles=navigation.ADMIN | {Role.HANDLING_UNIT},
                order=95,
                in_user_menu=True,
            )
        )
        # Connect the receivers of user_logged_in / user_login_failed (lockout, session policy).
        from liaison import lockout, session_policy  # noqa: F401
