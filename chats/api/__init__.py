"""REST API v1: thin views over chats/templates_app/media_links selectors and services."""
