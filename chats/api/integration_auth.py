"""How integrations authenticate (`Authorization: Bearer <token>`) and what their scopes allow.

Only the integration endpoints accept these tokens, and only these tokens: an integration never
acts as a rep, and a rep's token or session opens no integration endpoint.
"""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from chats.integration.credentials import integration_for_token
from chats.models import Integration


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Give the integration token as `Authorization: Bearer <token>`.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        integration = integration_for_token(token=token)
        if integration is None:
            raise exceptions.AuthenticationFailed("Invalid, rotated or revoked integration token.")
        return integration.user, integration

    def authenticate_header(self, request):
        return self.keyword


class ScopeRequired(exceptions.PermissionDenied):
    default_code = "scope_required"


class HasScope(BasePermission):
    """The view's `required_scopes` per method (`{"GET": "messages:read"}`); 403 `scope_required` naming
    the scope the integration's credential lacks."""

    def has_permission(self, request, view):
        integration = request.auth
        if not isinstance(integration, Integration):
            return False  # not authenticated as an integration: 401
        needed = view.required_scopes.get(request.method)
        if needed is None:
            return True  # a method the view does not serve: 405
        if needed not in integration.scopes:
            raise ScopeRequired(f"This call needs the `{needed}` scope; the integration's credential lacks it.")
        return True


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes integration tokens."""

    target_class = IntegrationTokenAuthentication
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An integration's token (`rpi_…`), created in admin or with `manage.py integration_create`."}
