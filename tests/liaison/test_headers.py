"""The Content-Security-Policy and Permissions-Policy headers on every page, and templates the CSP can
run: no inline script, no on*= handler, no <style> element or style="" attribute.

The page list is the URL resolver itself, so a new route is checked without anyone adding it here;
routes that take an id get the id of a row of the demo county (liaison.demo), so most pages really
render rather than answer 404.
"""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from liaison.models import User
from tests.factories import UserFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Which model's first row fills a route's <int:pk>. A route not listed gets pk 1 (often a 404 page,
# which must carry the headers too).
PK_MODELS = {
    "reps:public_detail": "reps.Representative",
    "reps:card": "reps.Representative",
    "reps:contact_edit": "reps.Contact",
    "reps:report_file": "reps.ResearchReport",
    "studios:period": "studios.RosterPeriod",
    "studios:period_publish": "studios.RosterPeriod",
    "studios:slot_edit": "studios.DutySlot",
    "studios:attendance": "studios.DutySlot",
    "studios:slot_reception": "studios.DutySlot",
    "studios:reception": "studios.Reception",
    "studios:door_notice": "studios.Studio",
    "schedule:studio": "studios.Studio",
    "schedule:studio_ics": "studios.Studio",
    "schedule:rep_ics": "reps.Representative",
    "proposals:from_reception_matter": "studios.ReceptionMatter",
    "proposals:from_visit_matter": "reps.VisitMatter",
    "proposals:detail": "proposals.Ticket",
    "proposals:edit": "proposals.Ticket",
    "proposals:act": "proposals.Ticket",
    "public:result_detail": "proposals.Ticket",
}
# Pages that must really render (200, HTML) for the liaison office, so that the header check above
# is not only a check of redirects and 404s.
MUST_RENDER = [
    "home",
    "reps:directory",
    "reps:public_detail",
    "reps:card",
    "reps:import",
    "studios:rosters",
    "studios:period",
    "studios:statistics",
    "studios:receptions",
    "studios:reception_book",
    "studios:door_notice",
    "studios:opinion_register",
    "studios:reception_new",
    "schedule:index",
    "proposals:workspace",
    "proposals:create",
    "proposals:detail",
    "public:intake",
    "public:track",
    "public:results",
]
SAMPLE_ARGS = {"str": "reps", "slug": "accept", "path": "1", "format": "json"}


def routes(patterns=None, namespace=""):
    """Yield (url name, the pattern's converter names in order) for every named route but the admin's."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            converters = pattern.pattern.converters if hasattr(pattern.pattern, "converters") else {}
            yield namespace + pattern.name, converters


def first_pk(label: str | None) -> int:
    if label is None:
        return 1
    return apps.get_model(label).objects.order_by("pk").values_list("pk", flat=True).first() or 1


def site_urls() -> dict[str, str]:
    urls = {}
    for name, converters in routes():
        kwargs = {}
        for key, converter in converters.items():
            kind = type(converter).__name__.removesuffix("Converter").lower()
            kwargs[key] = first_pk(PK_MODELS.get(name)) if kind == "int" else SAMPLE_ARGS.get(kind, "x")
        try:
            urls[name] = reverse(name, kwargs=kwargs)
        except NoReverseMatch:  # pragma: no cover - a converter this test does not know yet
            pytest.fail(f"add a sample argument for {name} {converters}")
    return urls


def admin_urls() -> list[str]:
    """The admin's index, and each registered model's list, add form and change form of its first row."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_add".format(*info)))
        pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if pk is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[pk]))
    return urls


def header_problems(url: str, response) -> list[str]:
    problems = []
    csp = response.get("Content-Security-Policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    if not csp:
        problems.append(f"{url}: no Content-Security-Policy")
    elif (
        "'unsafe-inline'" in directives.get("script-src", "'unsafe-inline'")
        or "'unsafe-eval'" in csp
        or directives.get("default-src") != "'self'"
        or directives.get("object-src") != "'none'"
        or directives.get("frame-ancestors") != "'none'"
    ):
        problems.append(f"{url}: weak Content-Security-Policy {csp!r}")
    if "camera=()" not in response.get("Permissions-Policy", ""):
        problems.append(f"{url}: no Permissions-Policy")
    if response.get("X-Content-Type-Options") != "nosniff" or not response.get("Referrer-Policy"):
        problems.append(f"{url}: no X-Content-Type-Options or Referrer-Policy")
    return problems


# What the CSP refuses to run, in a rendered page or a template.
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=[\"']application/json[\"'])[^>]*>\s*\S", re.I
)
HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[a-zA-Z][^>]*\sstyle\s*=", re.I)


def inline_problems(where: str, html: str) -> list[str]:
    found = []
    for name, pattern in [
        ("inline <script>", INLINE_SCRIPT),
        ("on*= handler", HANDLER),
        ("inline style", INLINE_STYLE),
    ]:
        match = pattern.search(html)
        if match:
            found.append(f"{where}: {name}: {html[match.start() : match.start() + 120]!r}")
    return found


@pytest.fixture
def demo(db):
    from liaison.demo import seed

    seed()


def test_every_page_carries_the_csp_and_the_permissions_policy_and_runs_no_inline_code(client, demo):
    """Every route as anonymous, the county's liaison office and a rep; the admin as the liaison
    office and a superuser."""
    people = {
        None: None,
        "lianban": User.objects.get(username="lianban"),
        "daibiao": User.objects.get(username="daibiao"),
        "superuser": UserFactory(username="headers-root", is_superuser=True),
    }
    site, admin_pages = list(site_urls().items()), [(url, url) for url in admin_urls()]
    problems, rendered = [], {}
    for who, user in people.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        pages = {None: site, "lianban": site + admin_pages, "daibiao": site, "superuser": admin_pages}[who]
        for name, url in pages:
            response = client.get(url)
            problems += header_problems(f"{url} ({who})", response)
            if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
                rendered[(name, who)] = True
                problems += inline_problems(f"{url} ({who})", response.content.decode())
    assert not problems, "\n".join(problems)
    assert [name for name in MUST_RENDER if (name, "lianban") not in rendered] == []
    admin_rendered = [key for key in rendered if key[1] == "superuser" and key[0].startswith("/admin/")]
    assert len(admin_rendered) > 20


def test_the_policy_allows_no_inline_script_or_style_anywhere(client, db):
    csp = client.get(reverse("public:intake"))["Content-Security-Policy"]
    directives = {d.strip().split(" ", 1)[0]: d.strip().split(" ", 1)[1] for d in csp.split(";")}
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["base-uri"] == directives["form-action"] == "'self'"
    assert client.get(reverse("public:intake"))["Permissions-Policy"] == (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )


def test_no_template_has_inline_script_handlers_or_styles():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        problems += inline_problems(str(path.relative_to(TEMPLATES)), path.read_text())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("html", "refused"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<script type="text/javascript">\nx()</script>', "inline <script>"),
        ('<button onclick="x()">', "on*= handler"),
        ("<select class=a\n onchange='go()'>", "on*= handler"),
        ('<div style="width: 5%">', "inline style"),
        ("<style>.a{}</style>", "inline style"),
    ],
)
def test_the_scan_finds_what_the_csp_refuses(html, refused):
    assert refused in " ".join(inline_problems("t", html))


@pytest.mark.parametrize(
    "html",
    [
        '<script src="/static/js/formsets.js" defer></script>',
        '<script id="d" type="application/json">{"a": 1}</script>',
        '<button data-print data-confirm="one=two">',
        "<p>json=1 onion=2 style=3</p>",
    ],
)
def test_the_scan_lets_static_scripts_json_and_data_attributes_pass(html):
    assert inline_problems("t", html) == []
