"""Pages people see: Chinese by default, English on request, friendly errors."""

import pytest
from django.urls import path, reverse


def test_home_is_chinese_even_for_an_english_browser(client, db):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page.status_code == 200
    assert "党代表工作室" in page.content.decode()
    assert page["Content-Language"] == "zh-hans"


def test_the_switcher_turns_the_site_english(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Party Representative Liaison Studios" in client.get("/").content.decode()


def test_unknown_urls_get_the_chinese_404_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_login_with_a_wrong_password_says_so_in_chinese(client, clerk_a):
    response = client.post(reverse("login"), {"username": "clerk_a", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_the_login_page_says_whom_to_ask_for_an_account_or_a_new_password(client):
    page = client.get(reverse("login")).content.decode()
    assert "请联系所在乡镇（街道）或县人大代表联络办的工作人员，由他们开通账号、重置密码。" in page


def test_login_lands_on_the_home_page_with_the_users_roles(client, clerk_a):
    response = client.post(reverse("login"), {"username": "clerk_a", "password": "pw-for-tests"}, follow=True)
    page = response.content.decode()
    assert "李秀英" in page and "镇组工人员" in page and reverse("admin:index") in page


def test_navigation_matches_the_role(client, clerk_a, rep_a):
    client.force_login(rep_a)
    assert reverse("admin:index") not in client.get("/").content.decode()
    client.force_login(clerk_a)
    assert reverse("admin:index") in client.get("/").content.decode()


def test_a_stale_form_gets_the_chinese_csrf_page(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "表单已过期" in response.content.decode()


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom)]


@pytest.mark.urls("tests.liaison.test_pages")
def test_a_server_error_shows_the_chinese_500_page(client, db):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "服务器出错" in response.content.decode()


@pytest.mark.django_db
def test_a_bad_host_header_is_a_400_page_not_a_server_error(client):
    """CommonMiddleware refuses the host before authentication: the 400 page renders without a user."""
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "<nav" in response.content.decode()
    response = client.post("/intake/", HTTP_HOST="evil.example:8000")
    assert response.status_code == 400


def test_the_bar_groups_occasional_pages_into_menus_where_its_first_page_stood():
    from liaison.navigation import bar_of

    def item(url_name, group=""):
        return {
            "label": url_name,
            "url": "/" + url_name,
            "url_name": url_name,
            "in_user_menu": False,
            "group": group,
        }

    items = [
        item("a"),
        item("b", "G"),
        item("c"),
        item("d", "G"),
        item("e", "H"),
        {**item("admin"), "in_user_menu": True},
    ]
    bar = bar_of(items)
    assert [entry.get("url_name", entry["label"]) for entry in bar] == ["a", "G", "c", "e"]
    assert [child["url_name"] for child in bar[1]["children"]] == ["b", "d"] and bar[1]["url_names"] == [
        "b",
        "d",
    ]
    assert "children" not in bar[3]  # a menu of one page is a link
