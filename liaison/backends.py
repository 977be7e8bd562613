from django.contrib.auth.backends import BaseBackend

from liaison.roles import permissions_for


class RolePermissionBackend(BaseBackend):
    """Give each active user the permissions their roles carry. Authenticates nobody."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return permissions_for(user_obj.scope.roles)

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
