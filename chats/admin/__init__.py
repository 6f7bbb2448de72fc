"""Django admin for the chats app, one module per area (see docs/admin.md)."""
from . import accounts, audit, conversations, dashboard, integrations, numbers, phrases, push, safety, users  # noqa: F401 (registers)
