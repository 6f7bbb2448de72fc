from django.apps import AppConfig


class MediaLinksConfig(AppConfig):
    name = "media_links"
    verbose_name = "Media library"
