from django.urls import path

from chats.web import views

urlpatterns = [
    path("chats/", views.chat_list, name="web-chats"),
    path("chats/<int:thread_id>/", views.chat_thread, name="web-thread"),
    path("hcps/", views.account_list, name="web-accounts"),
    path("hcps/<int:account_id>/", views.account_detail, name="web-account"),
    path("hcps/<int:account_id>/chat/", views.account_chat, name="web-account-chat"),
    path("media/", views.media_list, name="web-media"),
    path("media/<int:media_id>/share/", views.media_share, name="web-media-share"),
    path("language/", views.language, name="web-language"),
]
