"""The audit trail admin filters by HCP, rep, number and kind, with text boxes rather than giant lists."""
import pytest

from chats.compliance.audit import audit
from chats.models import AuditEvent

pytestmark = pytest.mark.django_db


def listed(client, **params) -> set[int]:
    response = client.get("/admin/chats/auditevent/", params)
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


def test_filters_by_hcp_rep_number_and_kind(two_hcps, admin_client, rep, other_rep, number):
    ada, grace = two_hcps["ada"], two_hcps["grace"]
    elsewhere = audit(kind=AuditEvent.Kind.ADMIN_CHANGE, actor=rep, action="changed")
    ada_rows = set(AuditEvent.objects.filter(account=ada["account"]).values_list("pk", flat=True))
    # HCP by name, by E.164 number and by id
    assert listed(admin_client, hcp="lovelace") == ada_rows
    assert listed(admin_client, hcp=ada["account"].whatsapp_number) == ada_rows
    assert listed(admin_client, hcp=str(grace["account"].pk)) == set(
        AuditEvent.objects.filter(account=grace["account"]).values_list("pk", flat=True))
    # rep by username; number by display number or Meta's id; kind from the list
    assert listed(admin_client, rep="rep.alex") == set(AuditEvent.objects.filter(actor=rep).values_list("pk", flat=True))
    assert elsewhere.pk in listed(admin_client, rep="rep.alex")
    on_number = set(AuditEvent.objects.filter(phone_number=number).values_list("pk", flat=True))
    assert on_number and listed(admin_client, number="010 0001") == on_number
    assert listed(admin_client, number=number.phone_number_id) == on_number
    assert listed(admin_client, kind__exact="routing.decision", hcp="hopper") == {grace["audits"][0].pk}
    # the page offers text boxes for HCP, rep and number, not a link per HCP
    page = admin_client.get("/admin/chats/auditevent/").content.decode()
    assert 'name="hcp"' in page and 'name="rep"' in page and 'name="number"' in page
    assert "Dr. Grace Hopper</a></li>" not in page
