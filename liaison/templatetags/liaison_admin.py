"""The admin's long lists written in one pass: a filter's many choices (``ScopedRelatedFilter``)
and a changelist's rows (``fast_result_list``, ``liaison.admin_mixins.FastResultsMixin``)."""

import datetime

from django import template
from django.contrib.admin.options import ModelAdmin
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import display_for_field, display_for_value, lookup_field
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

SELECTED = ' class="selected"'
# Stand-ins for a row's primary key and label in what is rendered once per page.
PK, LABEL = "\x00pk\x00", "\x00label\x00"


@register.filter
def filter_choice_items(choices) -> SafeString:
    """Write the ``<li>`` of every choice, as ``admin/filter.html`` does, in one pass."""
    return mark_safe(  # noqa: S308 - every value in it is escaped
        "\n".join(
            f"<li{SELECTED if choice['selected'] else ''}>"
            f'<a href="{escape(choice["query_string"])}">{conditional_escape(choice["display"])}</a></li>'
            for choice in choices
        )
    )


def fast_result_list(cl):
    """Django's ``result_list``, each row's cells written as one string.

    The cells are Django's (``items_for_result``: the same values, classes and links), with what
    does not change from row to row worked out once per page: the empty value, each column's link,
    the change link with the preserved filters (one ``reverse``, not one a row) and the action
    checkbox (one widget rendered, not fifty). A list with editable columns, in a popup, with
    ``to_field`` or of a model whose key is not an integer is Django's own.
    """
    integer_pk = isinstance(cl.lookup_opts.pk, models.IntegerField)
    if cl.formset or cl.is_popup or cl.to_field or not integer_pk:
        return admin_list.result_list(cl)
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": [admin_list.ResultList(None, [row]) for row in _rows(cl)],
    }


@register.tag(name="fast_result_list")
def fast_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=fast_result_list, template_name="change_list_results.html", takes_context=False
    )


class _Placeholder:
    """A stand-in row for rendering the action checkbox once; its pk and label are replaced per row."""

    pk = PK

    def __str__(self) -> str:
        return LABEL


def _change_url(cl) -> str | None:
    """The escaped change link of a row, with ``PK`` for its primary key."""
    try:
        url = reverse(
            f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
            args=(PK,),
            current_app=cl.model_admin.admin_site.name,
        )
    except NoReverseMatch:
        return None
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    return escape(url.replace("%00", "\x00"))  # reverse() quoted the stand-in's NULs


def _columns(cl):
    """Per column: its name, its class, and the tag of its change link ("th", "td" or None)."""
    first = True
    for index, field_name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            link = False
        elif first and not cl.list_display_links:
            link = True
        else:
            link = field_name in cl.list_display_links
        tag = None
        if link:
            tag, first = ("th" if first else "td"), False
        yield field_name, f"field-{admin_list._coerce_field_name(field_name, index)}", tag


def _rows(cl):
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    columns = list(_columns(cl))
    url = _change_url(cl)
    checkbox = None
    if type(model_admin).action_checkbox is ModelAdmin.action_checkbox:
        checkbox = str(model_admin.action_checkbox(_Placeholder()))
    pk_attname = cl.lookup_opts.pk.attname
    for result in cl.result_list:
        pk = str(getattr(result, pk_attname))
        cells = []
        for field_name, field_class, tag in columns:
            if field_name == "action_checkbox" and checkbox is not None:
                html = checkbox.replace(LABEL, escape(str(result))).replace(PK, pk)
                cells.append(f'<td class="action-checkbox">{html}</td>')
                continue
            result_repr, classes = _cell(cl, result, field_name, field_class, empty, link=tag is not None)
            text = conditional_escape(result_repr)
            if tag is not None:
                if url is not None:
                    text = f'<a href="{url.replace(PK, pk)}">{text}</a>'
                cells.append(f'<{tag} class="{classes}">{text}</{tag}>')
            else:
                cells.append(f'<td class="{classes}">{text}</td>')
        yield mark_safe("".join(cells))  # noqa: S308 - every value in it is escaped


def _cell(cl, result, field_name, field_class, empty, *, link):
    """One cell's value and classes, as ``items_for_result`` works them out."""
    classes = [field_class]
    try:
        f, attr, value = lookup_field(field_name, result, cl.model_admin)
    except ObjectDoesNotExist:
        return empty, field_class
    empty = getattr(attr, "empty_value_display", empty)
    if isinstance(value, str) and value.strip() == "":
        value = ""
    if f is None or f.auto_created:
        if field_name == "action_checkbox":
            classes = ["action-checkbox"]
        boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            boolean = getattr(attr.fget, "boolean", False)
        result_repr = display_for_value(value, empty, boolean)
        if isinstance(value, datetime.date | datetime.time):
            classes.append("nowrap")
    else:
        if isinstance(f.remote_field, models.ManyToOneRel):
            field_val = getattr(result, f.name)
            result_repr = empty if field_val is None else field_val
        else:
            result_repr = display_for_field(value, f, empty, avoid_link=link)
        if isinstance(f, (models.DateField, models.TimeField, models.ForeignKey)):
            classes.append("nowrap")
    return result_repr, " ".join(classes)
