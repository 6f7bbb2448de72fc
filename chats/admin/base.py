"""Admin building blocks shared by the apps."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """An audit table: admins may read it, never add, change or delete a row.

    Django then renders the change page as a read-only view and offers no
    delete action; the model layer (and a PostgreSQL trigger for append-only
    tables) refuses changes too.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        declared = super().get_readonly_fields(request, obj)
        model_fields = [field.name for field in self.model._meta.fields]
        return list(dict.fromkeys([*model_fields, *declared]))


def short(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
