"""The HCP simulator page: staff answer as an HCP, through the real webhook path.

Served only with the sandbox backend: it signs what it posts with the app secret, so on the
cloud backend it would forge HCP messages (consent keywords included) that Meta never sent.
"""
from django import forms
from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import redirect, render

from chats.devtools.simulator import SimulatedFile, simulate_inbound
from chats.models import Account, Message, PhoneNumber
from chats.whatsapp.backends import get_backend


class SimulatorForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.order_by("name"), label="HCP")
    phone_number = forms.ModelChoiceField(queryset=PhoneNumber.objects.order_by("display_phone_number"),
                                          label="Business number")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4096, required=False,
                           help_text="With a file: its caption.")
    file = forms.FileField(required=False, label="File (photo, document, audio, video)",
                           widget=forms.ClearableFileInput(attrs={"accept": "image/*,video/*,audio/*,.pdf,.doc,.docx,.txt"}))

    def clean(self):
        data = super().clean()
        if not data.get("text") and not data.get("file"):
            raise forms.ValidationError("Write a text or choose a file.")
        return data

    def simulated_file(self) -> SimulatedFile | None:
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        return SimulatedFile(content=upload.read(), mime_type=upload.content_type or "application/octet-stream",
                             filename=upload.name)


@staff_member_required
def simulator(request):
    if get_backend().name != "sandbox":
        raise Http404("The HCP simulator exists only with the sandbox backend.")
    form = SimulatorForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = simulate_inbound(
            wa_from=form.cleaned_data["account"].whatsapp_number or form.cleaned_data["account"].whatsapp_user_id,
            phone_number_id=form.cleaned_data["phone_number"].phone_number_id,
            text=form.cleaned_data["text"],
            file=form.simulated_file(),
        )
        message = result.message
        if result.outcome.status_code != 200:
            flash.error(request, f"Webhook refused: {result.outcome.detail}")
        elif message is None:
            flash.info(request, f"Webhook stored; {result.wamid} will be processed by a worker.")
        elif message.thread_id:
            flash.success(request, f"Delivered to {message.thread.user.get_username()}'s thread.")
        else:
            flash.warning(request, f"Kept as unrouted: {message.unrouted_reason}")
        return redirect("simulator")
    recent = Message.objects.select_related("thread__user", "account", "phone_number").order_by("-created_at", "-id")[:30]
    return render(request, "chats/simulator.html", {"form": form, "recent": recent})
