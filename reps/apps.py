from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepsConfig(AppConfig):
    name = "reps"
    verbose_name = _("Representatives")

    def ready(self) -> None:
        from liaison import navigation, todo
        from liaison.roles import Role, crud, grant
        from reps import notifications
        from reps import todo as reps_todo

        __import__("reps.pii_rules").pii_rules.register()

        todo.register("reps", reps_todo.sections, order=30)

        notifications.register()

        managed = [
            "reps.representative",
            "reps.mandate",
            "reps.group",
            "reps.groupmembership",
            "reps.committeelink",
            "reps.contact",
            "reps.contactlink",
            "reps.homevisit",
            "reps.visitmatter",
            "reps.visitphoto",
            "reps.researchreport",
            "reps.training",
            "reps.fundexpense",
            "reps.dutyactivity",
        ]
        # Duty reports are handed in by reps and evaluated on their pages, never in the admin.
        for role in (Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF):
            grant(role, *crud("reps.dutyreport", "view"))
        for role in (Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF):
            for model in managed:
                grant(role, *crud(model, "view", "add", "change", "delete"))
        grant(Role.LIAISON_OFFICE, *crud("reps.dutypolicy", "view", "add", "change", "delete"))
        grant(Role.TOWNSHIP_STAFF, *crud("reps.dutypolicy", "view"))
        grant(Role.LIAISON_OFFICE, *crud("reps.pointspolicy", "view", "add", "change", "delete"))
        grant(Role.TOWNSHIP_STAFF, *crud("reps.pointspolicy", "view"))

        rep, staff = frozenset({Role.REPRESENTATIVE}), navigation.STAFF
        navigation.register(navigation.NavItem(_("My duties"), "reps:me", roles=rep, order=10))
        navigation.register(navigation.NavItem(_("Record a visit"), "reps:visit_new", roles=rep, order=11))
        navigation.register(navigation.NavItem(_("My contacts"), "reps:contacts", roles=rep, order=12))
        navigation.register(
            navigation.NavItem(_("Sitting in, inspections"), "reps:activity_new", roles=rep, order=13)
        )
        navigation.register(
            navigation.NavItem(
                _("Duty status"),
                "reps:duty",
                roles=staff | {Role.COMMITTEE_MEMBER},
                order=20,
                group=navigation.REPS_WORK,
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Contact network"),
                "reps:network",
                roles=staff | {Role.COMMITTEE_MEMBER},
                order=21,
                group=navigation.REPS_WORK,
            )
        )
        navigation.register(
            navigation.NavItem(_("Import"), "reps:import", roles=staff, order=22, group=navigation.REPS_WORK)
        )
        navigation.register(
            navigation.NavItem(
                _("Assessment"), "reps:assessment", roles=staff, order=23, group=navigation.REPS_WORK
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Group reports"), "reps:group_reports", roles=staff, order=24, group=navigation.REPS_WORK
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Duty reports (述职)"),
                "reps:duty_reports",
                roles=staff,
                order=25,
                group=navigation.REPS_WORK,
            )
        )
        navigation.register(
            navigation.NavItem(_("My duty report (述职)"), "reps:duty_report_new", roles=rep, order=13)
        )
        navigation.register(navigation.NavItem(_("Representatives"), "reps:directory", order=40, public=True))
