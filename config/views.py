from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render

from chats.models import PhoneNumber


def healthz(request):
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    """Who is signed in, whether they hold the Engage license, and their WhatsApp numbers."""
    profile = getattr(request.user, "profile", None)
    # Annotate before filtering: the count must see every assignee, not only this user's row.
    numbers = (
        PhoneNumber.objects.annotate(assignee_count=Count("assignments", distinct=True))
        .filter(assignments__user=request.user)
        .order_by("display_phone_number")
    )
    return render(
        request,
        "home.html",
        {"has_engage_license": bool(profile and profile.has_engage_license), "phone_numbers": list(numbers)},
    )
