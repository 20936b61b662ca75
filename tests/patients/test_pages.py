import re

import pytest
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LIST = reverse("patients:patient-list")
CREATE = reverse("patients:patient-create")
FORM = {
    "first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1985-06-01", "gender": "female",
    "marital_status": "single", "phone": "305 555 0100", "state": "FL", "zip_code": "33101",
}  # fmt: skip


@pytest.fixture
def login(client, user_for_role):
    def as_role(role):
        client.force_login(user_for_role(role))
        return client

    return as_role


def test_anonymous_is_sent_to_login(client, patient):
    for url in (LIST, CREATE, patient.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_list_shows_patients_and_search_is_bookmarkable(login, patient):
    PatientFactory(first_name="Zoe", last_name="Young")
    client = login(Role.STAFF)
    page = client.get(LIST, {"search": "john smi"}).content.decode()
    assert "Smith, John" in page and "Young, Zoe" not in page
    assert 'value="john smi"' in page
    assert "1 patient match" in page


def test_search_as_you_type_returns_only_the_results_fragment(login, patient):
    response = login(Role.NURSE).get(LIST, {"search": "smith"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Smith, John" in html
    assert "<html" not in html and 'id="id_search"' not in html


def test_empty_states_say_what_to_do(login):
    client = login(Role.STAFF)
    assert "Register the first patient" in client.get(LIST).content.decode()
    PatientFactory()
    html = client.get(LIST, {"search": "qqqq"}).content.decode()
    assert "No patients match" in html and "clear the search and filters" in html


def test_read_only_cannot_register(login):
    client = login(Role.READ_ONLY)
    assert "New patient" not in client.get(LIST).content.decode()
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, FORM).status_code == 403
    assert not Patient.objects.exists()


def test_filter_errors_are_shown(login, patient):
    html = login(Role.STAFF).get(LIST, {"is_active": "false"}).content.decode()
    assert "Only administrators can list inactive patients." in html


def input_attributes(html: str, name: str) -> set[str]:
    """The attributes of the input named ``name``, in any order (Django's widgets choose it)."""
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', html).group(0)
    return set(re.findall(r'[\w-]+="[^"]*"', tag))


def test_a_filter_field_s_error_is_what_its_input_is_described_by(login):
    html = login(Role.ADMIN).get(LIST, {"min_age": "abc"}).content.decode()
    assert {'aria-describedby="id_min_age_error"', 'aria-invalid="true"'} <= input_attributes(html, "min_age")
    assert '<div id="id_min_age_error"><div class="field-error" role="alert">Enter a number.</div></div>' in html


def test_form_help_and_errors_are_what_inputs_are_described_by(login):
    html = login(Role.ADMIN).post(CREATE, {**FORM, "diagnosis_codes": "nope"}).content.decode()
    described = re.search(r'<input[^>]+name="diagnosis_codes"[^>]*>', html).group(0)
    assert 'aria-describedby="id_diagnosis_codes_helptext id_diagnosis_codes_error"' in described
    assert 'id="id_diagnosis_codes_helptext"' in html and 'id="id_diagnosis_codes_error"' in html


def test_page_size_and_sorting(login):
    for index in range(30):
        PatientFactory(last_name=f"Name{index:02d}")
    client = login(Role.ADMIN)
    html = client.get(LIST, {"page_size": "25"}).content.decode()
    assert html.count('class="row-link"') == 25 and "Page 1 of 2" in html
    html = client.get(LIST, {"sort": "-last_name", "page_size": "50"}).content.decode()
    assert html.index("Name29") < html.index("Name00")


def test_list_rows_escape_what_patients_are_called(login):
    PatientFactory(
        first_name="<b>Eve</b>",
        last_name='O\'Hara & "Sons"',
        preferred_name="<i>E</i>",
        city="<Miami>",
        is_active=False,
    )
    client = login(Role.ADMIN)
    for headers in ({}, {"HX-Request": "true"}):
        html = client.get(LIST, {"is_active": "all", "sort": "-city"}, headers=headers).content.decode()
        assert "O&#x27;Hara &amp; &quot;Sons&quot;, &lt;b&gt;Eve&lt;/b&gt;" in html
        assert "“&lt;i&gt;E&lt;/i&gt;”" in html and "&lt;Miami&gt;, FL" in html and "<b>Eve" not in html
        assert '<tr class="is-inactive">' in html and '<span class="badge">Inactive</span>' in html
        assert 'href="?is_active=all&amp;sort=city" hx-get="?is_active=all&amp;sort=city"' in html
        assert 'aria-sort="descending">City ▼</a>' in html


def test_filter_form_keeps_what_was_asked(login):
    html = login(Role.ADMIN).get(LIST, {"city": 'Mi"<a', "min_age": "30", "state": "fl", "is_active": "all"}).content
    html = html.decode()
    assert '<input type="text" name="city" value="Mi&quot;&lt;a" id="id_city">' in html
    assert input_attributes(html, "min_age") == {
        'type="number"',
        'name="min_age"',
        'value="30"',
        'id="id_min_age"',
        'max="150"',
        'min="0"',
        'step="any"',
    }
    assert (
        '<option value="FL" selected>Florida</option>' in html and '<option value="all" selected>All</option>' in html
    )


def test_list_page_runs_a_constant_number_of_queries(login, django_assert_max_num_queries):
    client = login(Role.ADMIN)
    PatientFactory.create_batch(2)
    client.get(LIST)
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    queries = len(few.captured_queries)
    PatientFactory.create_batch(40)
    client.get(LIST, {"page_size": "50"})  # the new patients are counted once, then the count is remembered
    with django_assert_max_num_queries(queries):
        client.get(LIST, {"page_size": "50"})


@pytest.mark.parametrize(
    ("role", "clinical", "ssn", "edit", "deactivate", "history"),
    [
        (Role.ADMIN, True, True, True, True, True),
        (Role.DOCTOR, True, True, True, True, False),
        (Role.NURSE, True, True, True, False, False),
        (Role.STAFF, False, False, True, False, False),
        (Role.READ_ONLY, True, False, False, False, True),
    ],
)
def test_detail_shows_what_the_role_allows(login, patient, role, clinical, ssn, edit, deactivate, history):
    html = login(role).get(patient.get_absolute_url()).content.decode()
    assert "Demographics" in html and "(305) 555-0123" in html
    assert ("Penicillin" in html) == clinical
    assert ("***-**-6789" in html) == ssn
    assert "123-45-6789" not in html
    assert ("Edit</a>" in html) == edit
    assert ('data-modal-open="deactivate-dialog"' in html) == deactivate
    assert ("Change history" in html) == history


def test_viewing_the_page_counts_and_audits_one_access(login, patient):
    login(Role.NURSE).get(patient.get_absolute_url())
    patient.refresh_from_db()
    assert patient.access_count == 1
    entries = AuditEvent.objects.filter(patient_id=patient.pk).exclude(action=AuditEvent.Action.CREATE)
    assert [(e.action, e.additional_data) for e in entries] == [(AuditEvent.Action.ACCESS, {"channel": "page"})]


def test_register_patient_with_field_messages_then_success(login):
    client = login(Role.STAFF)
    html = client.post(CREATE, {**FORM, "phone": "555-0100", "zip_code": "12"}).content.decode()
    assert "Enter a 10-digit US phone number, e.g. (305) 555-0123." in html
    assert "Enter a ZIP code of 5 digits" in html
    assert 'name="diagnosis"' not in html and 'name="ssn"' not in html  # not for the front desk
    assert not Patient.objects.exists()
    response = client.post(CREATE, FORM, follow=True)
    patient = Patient.objects.get()
    assert response.redirect_chain[-1][0] == patient.get_absolute_url()
    assert f"Patient {patient.patient_number} registered." in response.content.decode()
    assert patient.phone == "(305) 555-0100" and patient.created_by.role == Role.STAFF


def test_duplicate_warning_must_be_confirmed(login):
    PatientFactory(first_name="Ana", last_name="Diaz", date_of_birth="1985-06-01")
    client = login(Role.NURSE)
    html = client.post(CREATE, FORM).content.decode()
    assert "Possible duplicate" in html and "I checked: this is a different person" in html
    assert Patient.objects.count() == 1
    client.post(CREATE, {**FORM, "confirm_duplicate": "on"})
    assert Patient.objects.count() == 2


def test_edit_keeps_ssn_when_left_blank_and_shows_only_mask(login, patient):
    client = login(Role.NURSE)
    url = reverse("patients:patient-edit", args=[patient.pk])
    html = client.get(url).content.decode()
    assert "On file: ***-**-6789" in html and "123-45-6789" not in html
    data = {**FORM, "first_name": "John", "last_name": "Smith", "date_of_birth": patient.date_of_birth.isoformat(),
            "phone": "(786) 555-0101", "ssn": "", "diagnosis_codes": "F33.1, F41.1"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.ssn == "123-45-6789" and patient.phone == "(786) 555-0101"
    assert patient.diagnosis_codes == ["F33.1", "F41.1"]


def test_staff_edit_cannot_touch_clinical_fields(login, patient):
    client = login(Role.STAFF)
    url = reverse("patients:patient-edit", args=[patient.pk])
    data = {**FORM, "first_name": "John", "last_name": "Smith", "date_of_birth": patient.date_of_birth.isoformat(),
            "allergies": "None", "ssn": "987-65-4321"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    patient.refresh_from_db()
    assert patient.allergies == "Penicillin" and patient.ssn == "123-45-6789"


def test_read_only_cannot_edit(login, patient):
    client = login(Role.READ_ONLY)
    url = reverse("patients:patient-edit", args=[patient.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, FORM).status_code == 403


def test_deactivate_needs_post_and_role_then_hides_patient(login, patient):
    url = reverse("patients:patient-deactivate", args=[patient.pk])
    nurse = login(Role.NURSE)
    assert nurse.get(url).status_code == 405
    assert nurse.post(url).status_code == 403
    doctor = login(Role.DOCTOR)
    response = doctor.post(url, follow=True)
    assert "deactivated" in response.content.decode()
    patient.refresh_from_db()
    assert not patient.is_active
    assert doctor.get(patient.get_absolute_url()).status_code == 404
    assert "Smith, John" not in doctor.get(LIST).content.decode()


def test_admin_sees_and_reactivates_inactive_patient(login, patient):
    patient.is_active = False
    patient.save()
    admin = login(Role.ADMIN)
    html = admin.get(patient.get_absolute_url()).content.decode()
    assert "Inactive" in html and "Reactivate" in html
    admin.post(reverse("patients:patient-reactivate", args=[patient.pk]))
    patient.refresh_from_db()
    assert patient.is_active


def test_unknown_patient_is_404(login):
    assert login(Role.ADMIN).get(reverse("patients:patient-detail", args=[99999])).status_code == 404


def test_admin_change_page_records_access(login, patient):
    client = login(Role.ADMIN)
    response = client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    assert response.status_code == 200
    assert "123-45-6789" not in response.content.decode()
    entry = AuditEvent.objects.get(patient_id=patient.pk, action=AuditEvent.Action.ACCESS)
    assert entry.additional_data == {"channel": "admin"}
    patient.refresh_from_db()
    assert patient.access_count == 1


def test_the_filter_panel_is_rendered_once_per_role_and_filter_values(login):
    client = login(Role.ADMIN)
    first = client.get(LIST, {"search": "ann", "city": "Miami"}).content.decode()
    again = client.get(LIST, {"search": "bob", "city": "Miami"}).content.decode()
    other = client.get(LIST, {"city": "Tampa", "min_age": "x"}).content.decode()

    def panel(html):
        return html[
            html.index('<div class="filter-grid">') : html.index(
                '<div class="field">\n        <label for="id_page_size"'
            )
        ]

    assert panel(first) == panel(again) and 'name="city" value="Miami"' in panel(first)
    assert 'name="city" value="Tampa"' in panel(other) and "Enter a number." in panel(other)
    assert 'id="id_blood_type"' in panel(first)
    staff = login(Role.STAFF).get(LIST, {"city": "Miami"}).content.decode()
    assert 'id="id_blood_type"' not in panel(staff) and 'id="id_is_active"' not in panel(staff)
