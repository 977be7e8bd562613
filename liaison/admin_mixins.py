"""What every admin of the product shares: rows and choices scoped to the user's roles."""

from django.contrib import admin
from django.http import Http404


class ScopedQuerysetMixin:
    """Limit rows and foreign-key choices to what the user may see (``visible_to``)."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = _scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = _scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _scoped_choices(db_field, request, kwargs):
    queryset = kwargs.get("queryset")
    if queryset is None:
        queryset = db_field.remote_field.model._default_manager.all()
    if hasattr(queryset, "visible_to"):
        return queryset.visible_to(request.user)
    return queryset


class ScopedAdmin(ScopedQuerysetMixin, admin.ModelAdmin):
    """A ModelAdmin whose objects outside the user's scope answer 404, like missing ones,
    so that ids cannot be probed, and whose filters offer only what the user may see."""

    def get_list_filter(self, request):
        """Make every foreign-key filter list only objects that occur in the scoped rows.

        Django's default related filter lists every row of the related table, which would
        show a clerk the names of other townships' regions and units.
        """
        return [_scoped_filter(self.model, spec) for spec in super().get_list_filter(request)]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


class RecordAdmin(ScopedAdmin):
    """The admin of a record of work done (a visit, a reception): evidence for the duty report,
    so it is deleted one at a time, after Django's confirmation page, never in bulk."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ScopedInline(ScopedQuerysetMixin, admin.TabularInline):
    """An inline whose choices are scoped. Its rows belong to the parent object, which the
    parent admin already scoped, so rows of a model without ``visible_to`` are shown as-is."""

    def get_queryset(self, request):
        queryset = admin.TabularInline.get_queryset(self, request)
        return queryset.visible_to(request.user) if hasattr(queryset, "visible_to") else queryset


def _scoped_filter(model, spec):
    if not isinstance(spec, str):
        return spec
    field = model._meta.get_field(spec.split("__")[0])
    if "__" not in spec and field.is_relation:
        return (spec, admin.RelatedOnlyFieldListFilter)
    return spec
