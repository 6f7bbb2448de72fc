from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render


def healthz(request):
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    profile = getattr(request.user, "profile", None)
    return render(request, "home.html", {"has_engage_license": bool(profile and profile.has_engage_license)})
