from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudiosConfig(AppConfig):
    name = "studios"
    verbose_name = _("Studios and duty rosters")

    def ready(self) -> None:
        from liaison import navigation, todo
        from liaison.roles import STAFF_ROLES, Role, crud, grant
        from studios import duties, notifications
        from studios import todo as studios_todo

        __import__("studios.pii_rules").pii_rules.register()

        todo.register("studios", studios_todo.sections, order=20)
        from reps import public_facts
        from studios.public_views import rep_public_facts

        public_facts.register("studios", rep_public_facts, order=20)

        duties.register()
        __import__("studios.record").record.register()  # the duty record's studio sections
        notifications.register()
        managed = [
            "studios.studio",
            "studios.studioassignment",
            "studios.leave",
            "studios.rosterrule",
            "studios.rosterperiod",
            "studios.dutyslot",
            "studios.slotassignment",
            "studios.reception",
            "studios.receptionmatter",
            "studios.receptionphoto",
            "studios.visitor",
            "studios.opinionreport",
        ]
        for role in (Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF):
            for model in managed:
                grant(role, *crud(model, "view", "add", "change", "delete"))
            grant(role, *crud("studios.slotchange", "view"))
        # The studio liaison officer keeps their studio's record book and roster.
        grant(
            Role.STUDIO_OFFICER,
            *crud("studios.studio", "view", "change"),
            *crud("studios.studioassignment", "view", "add", "change", "delete"),
            *crud("studios.leave", "view", "add", "change", "delete"),
            *crud("studios.rosterrule", "view", "add", "change", "delete"),
            *crud("studios.rosterperiod", "view"),
            *crud("studios.dutyslot", "view"),
            *crud("studios.slotchange", "view"),
            *crud("studios.reception", "view", "add", "change"),
            *crud("studios.receptionmatter", "view", "add", "change"),
            *crud("studios.visitor", "view", "add", "change"),
            *crud("reps.representative", "view"),
        )
        staff = STAFF_ROLES | {Role.STUDIO_OFFICER}
        navigation.register(navigation.NavItem(_("Rosters"), "studios:rosters", roles=staff, order=30))
        reps_only = frozenset({Role.REPRESENTATIVE})
        navigation.register(
            navigation.NavItem(_("My studio duties"), "studios:my_duties", roles=reps_only, order=13)
        )
        navigation.register(
            navigation.NavItem(
                _("Statistics"), "studios:statistics", roles=staff, order=31, group=navigation.REPORTS
            )
        )
        navigation.register(navigation.NavItem(_("Duty schedule"), "schedule:index", order=35, public=True))
        navigation.register(
            navigation.NavItem(
                _("Receptions"),
                "studios:receptions",
                roles=STAFF_ROLES | {Role.STUDIO_OFFICER, Role.REPRESENTATIVE},
                order=32,
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Public opinion"), "studios:opinions", roles=frozenset({Role.REPRESENTATIVE}), order=14
            )
        )
