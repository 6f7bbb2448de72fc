"""Web Push for the web chat: the server's public key, and this device's subscription on or off."""
from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from chats.api.docs import CHAT_ERRORS, INVALID, _error
from chats.api.permissions import HasEngageLicense
from chats.notifications.push import push_enabled
from chats.notifications.subscriptions import SESSION_KEY, push_subscribe, push_unsubscribe

CHAT = [IsAuthenticated, HasEngageLicense]
PUSH_OFF = _error("Push is not set up on this server (`push_off`): no VAPID keys.", "push_off",
                  "Notifications are not set up on this server; ask your administrator.")
BAD_SUBSCRIPTION = _error("`invalid` (a field is missing), or `invalid_subscription` (not an https push "
                          "service endpoint, or keys that are not a browser's).", "invalid_subscription",
                          "The endpoint must be an https URL of a push service.")
ENDPOINT = "https://fcm.googleapis.com/fcm/send/dXJ…"


class KeyOutput(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="False when the server has no VAPID keys: push is off.")
    public_key = serializers.CharField(help_text="The VAPID public key (base64url) for `applicationServerKey`; "
                                                 "empty when push is off.")


class SubscriptionKeys(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class SubscribeInput(serializers.Serializer):
    endpoint = serializers.CharField(max_length=1000)
    keys = SubscriptionKeys()
    expirationTime = serializers.IntegerField(required=False, allow_null=True,  # noqa: N815 (the browser's name)
                                              help_text="As the browser gives it; not used.")


class SubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.CharField(help_text="A readable name for the device, from its User-Agent.")
    created_at = serializers.DateTimeField()


class UnsubscribeInput(serializers.Serializer):
    endpoint = serializers.CharField(max_length=1000)


class PushKeyView(APIView):
    permission_classes = CHAT

    @extend_schema(tags=["notifications"], responses={200: KeyOutput, **CHAT_ERRORS},
                   description="Whether the server sends Web Push notifications, and its VAPID public key.")
    def get(self, request):
        enabled = push_enabled()
        return Response({"enabled": enabled, "public_key": settings.VAPID_PUBLIC_KEY if enabled else ""})


class PushSubscribeView(APIView):
    permission_classes = CHAT

    @extend_schema(
        tags=["notifications"], request=SubscribeInput,
        responses={201: SubscriptionOutput, 200: SubscriptionOutput, 400: BAD_SUBSCRIPTION, 409: PUSH_OFF,
                   **CHAT_ERRORS},
        examples=[OpenApiExample("subscription", request_only=True, value={
            "endpoint": ENDPOINT, "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-"
                                                     "Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}})],
        description="Send notifications to this device (the browser's PushSubscription as JSON). The same "
                    "endpoint again updates it: 200; a new one: 201. Signing out of the web chat turns it off.")
    def post(self, request):
        data = SubscribeInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription, created = push_subscribe(
            user=request.user, endpoint=data.validated_data["endpoint"], p256dh=data.validated_data["keys"]["p256dh"],
            auth=data.validated_data["keys"]["auth"], user_agent=request.headers.get("User-Agent", ""))
        if hasattr(request, "session") and request.auth is None:  # the web chat's session
            request.session[SESSION_KEY] = subscription.endpoint
        return Response(SubscriptionOutput(subscription).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PushUnsubscribeView(APIView):
    permission_classes = CHAT

    @extend_schema(tags=["notifications"], request=UnsubscribeInput, responses={204: None, 400: INVALID, **CHAT_ERRORS},
                   description="Send no more notifications to this device. 204 whether or not it was subscribed.")
    def post(self, request):
        data = UnsubscribeInput(data=request.data)
        data.is_valid(raise_exception=True)
        push_unsubscribe(user=request.user, endpoint=data.validated_data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)
