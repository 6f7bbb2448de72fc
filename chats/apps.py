from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "chats"
    verbose_name = "Chats"

    def ready(self):
        from chats import checks  # noqa: F401  (registers the secrets checks)
