from django.urls import path

from studios import book_views, notice_views, opinion_register_views, reception_views, stats_views, views

app_name = "studios"

urlpatterns = [
    path("rosters/", views.rosters, name="rosters"),
    path("rosters/generate/", views.generate, name="generate"),
    path("rosters/<int:pk>/door-notice/", notice_views.door_notice, name="door_notice"),
    path("periods/<int:pk>/", views.period_detail, name="period"),
    path("periods/<int:pk>/publish/", views.period_publish, name="period_publish"),
    path("slots/<int:pk>/edit/", views.slot_edit, name="slot_edit"),
    path("attendance/<int:pk>/", views.attendance, name="attendance"),
    path("my-duties/", views.my_duties, name="my_duties"),
    path("today/", views.today, name="today"),
    path("statistics/", stats_views.statistics, name="statistics"),
    path("receptions/", reception_views.reception_list, name="receptions"),
    path("receptions/book/", book_views.reception_book, name="reception_book"),
    path("receptions/new/", reception_views.reception_new, name="reception_new"),
    path("receptions/<int:pk>/", reception_views.reception_detail, name="reception"),
    path("slots/<int:pk>/reception/", reception_views.reception_from_slot, name="slot_reception"),
    path("opinions/", reception_views.opinions, name="opinions"),
    path("opinions/register/", opinion_register_views.opinion_register, name="opinion_register"),
]
