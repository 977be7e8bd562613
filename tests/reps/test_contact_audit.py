"""A contact edited through the rep's page is audited with the before and after of what changed,
the phone masked, and the client's IP."""

from django.urls import reverse

from liaison.models import AuditEvent


def test_editing_a_contact_records_before_and_after(client, rep_a, my_rep, my_contacts, village_a):
    contact = my_contacts[0]
    contact.phone = "13812345678"
    contact.save()
    client.force_login(rep_a)

    response = client.post(
        reverse("reps:contact_edit", args=[contact.pk]),
        {"name": "改过的名字", "kind": contact.kind, "phone": "13987654321", "village": village_a.pk},
        REMOTE_ADDR="192.0.2.7",
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    row = AuditEvent.objects.get(verb="contact.updated", subject_id=str(contact.pk))
    assert row.actor == rep_a and row.ip == "192.0.2.7" and row.region == village_a
    assert row.data["changes"] == {
        "name": [contact.name, "改过的名字"],
        "phone": ["138****5678", "139****4321"],
    }
