"""Pages of the web chat. Thin: they read through chats/inbox/selectors.py (the same reads as API v1)
and write through chats.inbox.services; sending and live updates go through the API and /ws/chat/."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from chats.api.views import thread_detail
from chats.errors import DomainError, NotFound
from chats.inbox import selectors
from chats.inbox.access import has_engage_license
from chats.inbox.language import user_language_set
from chats.inbox.services import thread_get_or_create
from consent.selectors import consent_methods_offered, consent_type_for
from media_links.selectors import media_for_web_links

LIST_SIZE = 50


def _visible(read, **kwargs):
    """A selector's one row, or the 404 page when the user may not see it."""
    try:
        return read(**kwargs)
    except NotFound:
        raise Http404 from None


def engage_required(view):
    """Signed in and licensed; otherwise a 403 page that says why and whom to ask."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_engage_license(user=request.user):
            return _page(request, "chats/license_required.html", {"tab": "chats", "has_engage_license": False}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _page(request, template: str, context: dict, status: int = 200):
    """Render with what the tab bar needs (whether to show Chats)."""
    context.setdefault("has_engage_license", has_engage_license(user=request.user))
    return render(request, template, context, status=status)


def _thread_page(user) -> list:
    """The first page of the user's threads (latest activity first), last messages attached: 2 queries."""
    return selectors.attach_last_messages(selectors.threads_for_user(user=user)[:LIST_SIZE])


def _media_count() -> int:
    return media_for_web_links().count()


@engage_required
def chat_list(request):
    return _page(request, "chats/chat_list.html", {
        "tab": "chats", "threads": _thread_page(request.user), "open_thread": None,
    })


@engage_required
def chat_thread(request, thread_id: int):
    thread = _visible(selectors.thread_for_user, user=request.user, thread_id=thread_id)  # 404 unless it is theirs
    detail = thread_detail(thread, request.user)
    # Consent Capture's confirmation step (how consent was obtained, the wording agreed to) is read only
    # where it is offered: a captured consent never becomes "not captured" again.
    capture = detail["state"]["consent"] == "not_captured"
    return _page(request, "chats/chat_list.html", {
        "tab": "chats", "threads": _thread_page(request.user), "open_thread": thread,
        "thread_detail": detail, "has_media": _media_count() > 0,
        "share_media": request.GET.get("share", ""),
        "consent_methods": consent_methods_offered() if capture else [],
        "consent_type": consent_type_for(language=thread.account.language) if capture else None,
    })


@login_required
def account_list(request):
    licensed = has_engage_license(user=request.user)
    query = request.GET.get("q", "").strip()[:100]
    accounts = selectors.accounts_for_search(user=request.user, search=query)
    page = Paginator(accounts, LIST_SIZE, allow_empty_first_page=True).get_page(request.GET.get("page"))
    return _page(request, "chats/account_list.html", {
        "tab": "accounts", "page": page, "query": query, "licensed": licensed, "has_engage_license": licensed,
    })


@login_required
def account_detail(request, account_id: int):
    account = _visible(selectors.account_for_user, user=request.user, account_id=account_id)
    licensed = has_engage_license(user=request.user)
    return _page(request, "chats/account_detail.html", {
        "tab": "accounts", "account": account, "licensed": licensed, "has_engage_license": licensed,
    })


@require_POST
@engage_required
def account_chat(request, account_id: int):
    """All Actions → Chat: open the rep's thread with the account, creating it if needed."""
    account = _visible(selectors.account_for_user, user=request.user, account_id=account_id)
    try:
        thread, _ = thread_get_or_create(user=request.user, account=account)
    except DomainError as error:
        return _page(request, "chats/account_detail.html", {
            "tab": "accounts", "account": account, "licensed": True, "error": error.detail,
        }, status=400)
    url = reverse("web-thread", args=[thread.pk])
    if media := request.POST.get("share", "").strip():
        if media.isdigit():
            url += f"?share={media}"
    return redirect(url)


@login_required
def media_list(request):
    licensed = has_engage_license(user=request.user)
    return _page(request, "chats/media_list.html", {
        "tab": "media", "items": list(media_for_web_links()),
        "licensed": licensed, "has_engage_license": licensed,
    })


@engage_required
def media_share(request, media_id: int):
    """Media → All Actions → Share: pick the account; the thread then opens with the item's preview."""
    item = get_object_or_404(media_for_web_links(), pk=media_id)
    query = request.GET.get("q", "").strip()[:100]
    accounts = selectors.accounts_for_search(user=request.user, search=query)[:LIST_SIZE]
    return _page(request, "chats/media_share.html", {
        "tab": "media", "item": item, "accounts": accounts, "query": query,
    })


@require_POST
@login_required
def language(request):
    """The menu's language choice: saved on the user's profile (blank follows the browser), then back
    to the page it was picked on."""
    try:
        user_language_set(user=request.user, language=request.POST.get("language", "").strip())
    except DomainError as error:
        return HttpResponseBadRequest(error.detail, content_type="text/plain; charset=utf-8")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("home")
    return redirect(back)
