"""GET/POST /webhooks/whatsapp/: Meta's verification handshake and signed event delivery."""
import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from chats.ingress.receive import webhook_receive


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    if request.method == "GET":
        return _verify(request)
    # request.body is the raw bytes Meta signed; it must be read before anything parses it
    outcome = webhook_receive(body=request.body, signature=request.headers.get("X-Hub-Signature-256"))
    return HttpResponse(outcome.detail, status=outcome.status_code, content_type="text/plain")


def _verify(request):
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponse("verification failed", status=403, content_type="text/plain")
