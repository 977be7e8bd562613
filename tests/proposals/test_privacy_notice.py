"""PIPL on the intake form: a short notice with a link to the full privacy page, and a consent
tick that must be ticked; the time of consent is kept on the proposer."""

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from liaison.models import SecurityPolicy
from proposals.models import Category, Proposer, Ticket
from tests.proposals.public_helpers import form_token, visitor

INTAKE = "/intake/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def matter(client, township, **overrides):
    data = {
        "township": township.pk,
        "category": Category.objects.get(name="交通出行").pk,
        "title": "村口路灯不亮",
        "content": "东街社区村口三盏路灯坏了一个月。",
        "place": "东街社区村口",
        "name": "张大爷",
        "phone": "138 1234 5678",
        "privacy_consent": "on",
        "token": form_token(client),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_shows_the_notice_the_retention_and_a_link_to_the_full_page(db, county, township_a):
    SecurityPolicy.objects.create(county=county, anonymise_after_years=3)
    html = visitor().get(INTAKE).content.decode()
    assert 'id="privacy-notice"' in html and 'href="/privacy/"' in html
    assert 'name="privacy_consent"' in html and "required" in html.split('name="privacy_consent"')[1][:80]
    with translation.override("en"):
        html = visitor(HTTP_ACCEPT_LANGUAGE="en").get(INTAKE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "事项办结后最迟 3 年" in html


def test_the_full_page_names_what_why_who_how_long_and_the_rights(db, county):
    SecurityPolicy.objects.create(county=county, anonymise_after_years=4)
    response = visitor().get("/privacy/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        for heading in ("What we collect", "Why", "Who sees it", "How long it is kept", "Your rights"):
            assert gettext(heading) in html
    assert 'id="privacy-retention"' in html and " 4 " in html.split('id="privacy-retention"')[1][:400]


def test_without_the_tick_nothing_is_filed_the_tick_is_named_and_nothing_typed_is_lost(db, township_a):
    resident = visitor()
    response = resident.post(INTAKE, matter(resident, township_a, privacy_consent=None))
    assert response.status_code == 200 and not Ticket.objects.exists()
    assert set(response.context["form"].errors) == {"privacy_consent"}
    html = response.content.decode()
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        message = gettext(
            "Tick this box to send the matter: without your consent we may not keep your name and phone."
        )
    assert response.context["form"].errors["privacy_consent"] == [message]
    assert message in html
    assert 'value="村口路灯不亮"' in html and "东街社区村口三盏路灯坏了一个月" in html
    assert 'value="张大爷"' in html and 'value="138 1234 5678"' in html


def test_the_consent_time_is_stored_on_the_proposer(db, township_a):
    resident = visitor()
    before = timezone.now()
    response = resident.post(INTAKE, matter(resident, township_a))
    assert response.status_code == 302
    proposer = Proposer.objects.get()
    assert before <= proposer.privacy_consent_at <= timezone.now()


def test_staff_registering_for_someone_record_no_consent(make_ticket):
    ticket = make_ticket()
    assert not ticket.proposers.filter(privacy_consent_at__isnull=False).exists()
