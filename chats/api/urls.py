from django.urls import path

from chats.api import history_views, integration_views, media_views, sending_views, views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("accounts/", views.AccountListView.as_view(), name="api-accounts"),
    path("accounts/<int:account_id>/", views.AccountDetailView.as_view(), name="api-account"),
    path("accounts/<int:account_id>/consent/", sending_views.CaptureConsentView.as_view(), name="api-account-consent"),
    path("accounts/<int:account_id>/history/", history_views.AccountHistoryView.as_view(), name="api-account-history"),
    path("consent/methods/", views.ConsentMethodListView.as_view(), name="api-consent-methods"),
    path("threads/", views.ThreadListView.as_view(), name="api-threads"),
    path("threads/<int:thread_id>/", views.ThreadDetailView.as_view(), name="api-thread"),
    path("threads/<int:thread_id>/read/", views.ThreadReadView.as_view(), name="api-thread-read"),
    path("threads/<int:thread_id>/messages/", sending_views.ThreadMessagesView.as_view(), name="api-thread-messages"),
    path("threads/<int:thread_id>/messages/<int:message_id>/reaction/", sending_views.MessageReactionView.as_view(),
         name="api-message-reaction"),
    path("threads/<int:thread_id>/end/", sending_views.EndConversationView.as_view(), name="api-thread-end"),
    path("threads/<int:thread_id>/typing/", sending_views.TypingView.as_view(), name="api-thread-typing"),
    path("messages/<int:message_id>/media/", media_views.MessageMediaView.as_view(), name="api-message-media"),
    path("templates/", views.TemplateListView.as_view(), name="api-templates"),
    path("media/", views.MediaListView.as_view(), name="api-media"),
    path("restricted-phrases/check/", views.PhraseCheckView.as_view(), name="api-phrase-check"),
    path("integration/accounts/", integration_views.AccountListView.as_view(), name="api-integration-accounts"),
    path("integration/accounts/bulk/", integration_views.AccountBulkView.as_view(), name="api-integration-bulk"),
    path("integration/accounts/<str:external_id>/", integration_views.AccountView.as_view(),
         name="api-integration-account"),
    path("integration/threads/", integration_views.ThreadListView.as_view(), name="api-integration-threads"),
    path("integration/threads/<int:thread_id>/messages/", integration_views.ThreadMessagesView.as_view(),
         name="api-integration-messages"),
    path("integration/changes/", integration_views.ChangesView.as_view(), name="api-integration-changes"),
]
