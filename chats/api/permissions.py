from rest_framework.permissions import BasePermission

from chats.api.errors import LicenseRequired
from chats.inbox.access import has_engage_license


class HasEngageLicense(BasePermission):
    """Every chat endpoint: 403 `license_required` for a user without the Engage license."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False  # IsAuthenticated, listed first, answers 401
        if not has_engage_license(user=request.user):
            raise LicenseRequired()
        return True
