"""Demo data: a county with three townships, villages, handling units and one login per role.

Idempotent: every row is found by its natural key before it is created, so a second run
changes nothing. Other apps add their demo data by registering a seeder here from their
own ``demo.py`` (found by ``autodiscover_modules("demo")``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from liaison.models import AnnualMeeting, HandlingUnit, Region, RoleAssignment, SecurityPolicy, User
from liaison.roles import Role

DEMO_PASSWORD = "demo-2026"  # noqa: S105 - printed in the README and by `make run` on purpose

COUNTY = ("和平县", "990100")
TOWNSHIPS = {
    ("城关镇", "990101"): ["东街社区", "西街社区", "桃园村"],
    ("河口镇", "990102"): ["河口村", "柳湾村", "新港社区"],
    ("东山街道", "990103"): ["东山社区", "青石村", "南湖社区"],
}
COUNTY_UNITS = [
    ("县民政局", "刘洋", "0513-88120001"),
    ("县住房和城乡建设局", "周涛", "0513-88120002"),
    ("县交通运输局", "吴刚", "0513-88120003"),
    ("县生态环境局", "郑红", "0513-88120004"),
    ("县教育局", "孙丽", "0513-88120005"),
    ("县卫生健康委员会", "马军", "0513-88120006"),
    ("县农业农村局", "朱明", "0513-88120007"),
    ("县人力资源和社会保障局", "胡静", "0513-88120008"),
    ("县自然资源和规划局", "郭强", "0513-88120009"),
]
TOWNSHIP_UNITS = [
    ("城关镇", "城关镇社会事务办", "何平", "0513-88121001"),
    ("城关镇", "城关镇城建办", "高峰", "0513-88121002"),
    ("河口镇", "河口镇社会事务办", "林芳", "0513-88122001"),
    ("河口镇", "河口镇农业服务中心", "罗斌", "0513-88122002"),
    ("东山街道", "东山街道城市管理办", "梁燕", "0513-88123001"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    role: str
    anchor: str  # a region name, or a unit name for handling-unit staff
    phone: str


DEMO_LOGINS = [
    DemoLogin("lianban", "王建国", Role.LIAISON_OFFICE, "和平县", "13900000001"),
    DemoLogin("chengguan", "李秀英", Role.TOWNSHIP_STAFF, "城关镇", "13900000002"),
    DemoLogin("hekou", "杨帆", Role.TOWNSHIP_STAFF, "河口镇", "13900000003"),
    DemoLogin("lianluoyuan", "张敏", Role.STUDIO_OFFICER, "城关镇", "13900000004"),
    DemoLogin("daibiao", "陈志强", Role.REPRESENTATIVE, "城关镇", "13900000005"),
    DemoLogin("minzheng", "刘洋", Role.HANDLING_UNIT, "县民政局", "13900000006"),
    DemoLogin("weiyuan", "赵丽", Role.COMMITTEE_MEMBER, "城关镇", "13900000007"),
]

Seeder = Callable[[], None]
_SEEDERS: list[tuple[int, Seeder]] = []


def register(seeder: Seeder, *, order: int = 50) -> Seeder:
    """Add an app's demo seeder; it runs after the organisation, in ``order``."""
    if all(existing is not seeder for _order, existing in _SEEDERS):
        _SEEDERS.append((order, seeder))
    return seeder


@transaction.atomic
def seed() -> dict[str, int]:
    """Create the demo organisation and logins (and every registered app's demo data)."""
    from django.utils.module_loading import autodiscover_modules

    county = _region(COUNTY[0], Region.Level.COUNTY, None, COUNTY[1])
    for (township_name, code), villages in TOWNSHIPS.items():
        township = _region(township_name, Region.Level.TOWNSHIP, county, code)
        for index, village in enumerate(villages, start=1):
            _region(village, Region.Level.VILLAGE, township, f"{code}{index:03d}")

    for name, person, phone in COUNTY_UNITS:
        _unit(name, county, person, phone)
    for township_name, name, person, phone in TOWNSHIP_UNITS:
        _unit(name, Region.objects.get(name=township_name, parent=county), person, phone)

    this_year = datetime.date.today().year  # noqa: DTZ011 - a calendar year, zone-free
    for year, month, day in [(this_year, 12, 20), (this_year + 1, 3, 18)]:
        AnnualMeeting.objects.get_or_create(
            county=county,
            township=None,  # the county's own meeting (townships have theirs: reps.demo)
            year=year,
            defaults={
                "date": datetime.date(year, month, day),
                "title": f"{COUNTY[0]}党代会{year}年年会",
            },
        )

    # The demo stays one password away (`make run`): no second factor for anyone in it.
    SecurityPolicy.objects.get_or_create(
        county=county, defaults={"two_factor_roles": [], "two_factor_superusers": False}
    )

    for login in DEMO_LOGINS:
        _login(login, county)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD, name="系统管理员")

    autodiscover_modules("demo")
    for _order, seeder in sorted(_SEEDERS, key=lambda pair: pair[0]):
        seeder()
    return {
        "regions": Region.objects.count(),
        "units": HandlingUnit.objects.count(),
        "users": User.objects.count(),
    }


def _region(name: str, level: str, parent: Region | None, code: str) -> Region:
    region = Region.objects.filter(code=code).first()
    if region is None:
        region = Region(name=name, level=level, parent=parent, code=code)
        region.full_clean()
        region.save()
    return region


def _unit(name: str, region: Region, person: str, phone: str) -> HandlingUnit:
    unit, _created = HandlingUnit.objects.get_or_create(
        region=region, name=name, defaults={"contact_person": person, "phone": phone}
    )
    return unit


def _login(login: DemoLogin, county: Region) -> User:
    user = User.objects.filter(username=login.username).first()
    if user is None:
        user = User.objects.create_user(
            login.username,
            f"{login.username}@example.com",
            DEMO_PASSWORD,
            name=login.name,
            phone=login.phone,
        )
    if login.role == Role.HANDLING_UNIT:
        unit = HandlingUnit.objects.get(name=login.anchor, region__path__startswith=county.path)
        RoleAssignment.objects.get_or_create(
            user=user, role=login.role, unit=unit, defaults={"region": unit.region}
        )
    else:
        region = Region.objects.get(name=login.anchor, path__startswith=county.path)
        RoleAssignment.objects.get_or_create(user=user, role=login.role, region=region, unit=None)
    return user
