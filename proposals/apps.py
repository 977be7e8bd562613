from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = _("Suggestion tickets")

    def ready(self) -> None:
        from liaison import health, navigation, todo
        from liaison.roles import Role, crud, grant
        from proposals import (
            duties,
            notifications,  # noqa: F401  (registers the ticket notification kinds)
        )
        from proposals import todo as proposals_todo
        from reps import importing

        __import__("proposals.pii_rules").pii_rules.register()
        # The 12345 hotline's work-order sheet, a kind of the representatives' Excel import.
        importing.register(__import__("proposals.hotline").hotline.HOTLINE)

        health.register_operations(__import__("proposals.webhooks").webhooks.health)
        todo.register("proposals", proposals_todo.sections, order=10)
        todo.register("proposals_matters", __import__("proposals.matters").matters.todo_sections, order=11)
        duties.register()
        __import__("proposals.record").record.register()  # the duty record's tickets

        grant(
            Role.LIAISON_OFFICE,
            *crud("proposals.ticket", "view"),
            *crud("proposals.deadlinepolicy", "view", "add", "change", "delete"),
            *crud("proposals.workcalendarday", "view", "add", "change", "delete"),
            *crud("proposals.calendaryear", "view", "add", "change", "delete"),
            *crud("proposals.commendationpolicy", "view", "add", "change", "delete"),
            *crud("proposals.bulletin", "view", "delete"),  # the admin: read-only, drafts deletable
            # Open311 keys of the county's integrating systems: created and revoked (a change),
            # never edited or deleted (ApiKeyAdmin).
            *crud("proposals.apikey", "view", "add", "change"),
            # Their webhook subscriptions (address, kinds, on or off) and the read-only ledger of
            # deliveries, whose failed rows the office may send again.
            *crud("proposals.webhooksubscription", "view", "add", "change"),
            *crud("proposals.webhookdelivery", "view"),
        )
        grant(
            Role.TOWNSHIP_STAFF,
            *crud("proposals.ticket", "view"),
            *crud("proposals.deadlinepolicy", "view"),
            *crud("proposals.workcalendarday", "view"),
            *crud("proposals.calendaryear", "view"),
        )
        __import__("proposals.public_views").public_views.register_public_nav()
        # The workspace: every role that works on tickets, or follows them.
        navigation.register(
            navigation.NavItem(
                _("Tickets"),
                "proposals:workspace",
                roles=navigation.STAFF
                | {Role.HANDLING_UNIT, Role.REPRESENTATIVE, Role.COMMITTEE_MEMBER, Role.STUDIO_OFFICER},
                order=5,
            )
        )
        # The overview and the suggestion statistics: the township's staff and the liaison office.
        navigation.register(
            navigation.NavItem(
                _("Overview"),
                "overview:index",
                roles=frozenset({Role.TOWNSHIP_STAFF, Role.LIAISON_OFFICE}),
                order=34,
                group=navigation.REPORTS,
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Suggestion statistics"),
                "proposals:statistics",
                roles=frozenset({Role.TOWNSHIP_STAFF, Role.LIAISON_OFFICE}),
                order=35,
                group=navigation.REPORTS,
            )
        )
        # The annual commendations (年度评先): the liaison office runs its county's round.
        navigation.register(
            navigation.NavItem(
                _("Annual commendations"),
                "commendations:round",
                roles=frozenset({Role.LIAISON_OFFICE}),
                order=37,
                group=navigation.REPS_WORK,
            )
        )
        # The periodic bulletins (定期通报): the liaison office drafts and publishes them, the
        # county's township staff and representatives read them.
        navigation.register(
            navigation.NavItem(
                _("Bulletins"),
                "bulletins:index",
                roles=frozenset({Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF, Role.REPRESENTATIVE}),
                order=36,
                group=navigation.REPORTS,
            )
        )
