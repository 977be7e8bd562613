"""Writes through pages are audited: a contact edited on the rep's page (before and after of
what changed, the phone masked, the client's IP), an import sheet uploaded by staff."""

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


def test_an_uploaded_import_sheet_is_audited(clerk_a, township_a):
    from tests.reps.test_import_export import REP_HEADER, REPS, new_job, rep_row, xlsx

    job = new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)]))

    row = AuditEvent.objects.get(verb="import.uploaded")
    assert (row.actor, row.subject_id, row.region) == (clerk_a, str(job.pk), township_a)
    assert row.data == {"kind": REPS, "file": job.file_name}
