import contextlib
import hashlib
import hmac
import unicodedata
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from audit.registry import register_audited
from patients import validation
from spectrum.fields import EncryptedCharField, EncryptedListField, EncryptedTextField
from spectrum.models import TimeStampedModel
from spectrum.outages import CACHE_ERRORS
from spectrum.validation import birth_date_range, page_date_range

MAX_AGE_YEARS = 150

# "Clinical fields" of the role matrix: shown and accepted only for roles with patients.view_clinical /
# patients.change_clinical. The SSN has permissions of its own.
CLINICAL_FIELDS = ("diagnosis", "diagnosis_codes", "allergies", "medical_history", "current_medications", "blood_type")
ENCRYPTED_FIELDS = (
    "ssn", "medicaid_id", "insurance_number", "diagnosis", "diagnosis_codes", "allergies", "medical_history",
    "current_medications",
)  # fmt: skip
# Bookkeeping that changes on every read: never part of the change history.
ACCESS_FIELDS = ("last_accessed_at", "last_accessed_by", "access_count")


def ssn_lookup_hash(ssn: str) -> str:
    """Keyed hash of a normalised SSN, for exact lookup without decrypting any row."""
    return hmac.new(settings.SEARCH_HASH_KEY.encode(), ssn.encode(), hashlib.sha256).hexdigest()


class PatientQuerySet(models.QuerySet):
    def active(self) -> "PatientQuerySet":
        return self.filter(is_active=True)


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    NONE = "none", "None"


class Patient(TimeStampedModel):
    class Gender(models.TextChoices):
        MALE = "male", "Male"
        FEMALE = "female", "Female"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class MaritalStatus(models.TextChoices):
        SINGLE = "single", "Single"
        MARRIED = "married", "Married"
        DIVORCED = "divorced", "Divorced"
        WIDOWED = "widowed", "Widowed"
        SEPARATED = "separated", "Separated"
        UNKNOWN = "unknown", "Unknown"

    class Session(models.TextChoices):
        AM = "AM", "AM"
        PM = "PM", "PM"

    class InsuranceType(models.TextChoices):
        PRIVATE = "private", "Private"
        MEDICARE = "medicare", "Medicare"
        MEDICAID = "medicaid", "Medicaid"
        UNINSURED = "uninsured", "Uninsured"
        OTHER = "other", "Other"

    class BloodType(models.TextChoices):
        A_POS = "A+", "A+"
        A_NEG = "A-", "A−"
        B_POS = "B+", "B+"
        B_NEG = "B-", "B−"
        AB_POS = "AB+", "AB+"
        AB_NEG = "AB-", "AB−"
        O_POS = "O+", "O+"
        O_NEG = "O-", "O−"

    # Identity
    # Unique case-insensitively (Meta.constraints), which makes it unique as written too.
    patient_number = models.CharField(
        max_length=20, blank=True, help_text="Left blank, the next number (P000123) is assigned."
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    gender = models.CharField(max_length=10, choices=Gender.choices, default=Gender.UNKNOWN)
    marital_status = models.CharField(max_length=10, choices=MaritalStatus.choices, default=MaritalStatus.UNKNOWN)
    occupation = models.CharField(max_length=100, blank=True)
    session = models.CharField("program session", max_length=2, choices=Session.choices, blank=True)

    # Contact
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    # No `choices` here: "fl" is accepted and stored as "FL" (clean() validates and normalises).
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField("ZIP code", max_length=10, blank=True)
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    # How appointment reminders reach the patient (to the email or phone above); each channel also needs
    # the patient's consent (consents.Consent), which the send checks.
    reminder_channel = models.CharField(max_length=5, choices=ReminderChannel.choices, default=ReminderChannel.NONE)

    # Insurance
    insurance_type = models.CharField(max_length=10, choices=InsuranceType.choices, blank=True)
    insurance_provider = models.CharField(max_length=100, blank=True)
    insurance_number = EncryptedCharField(max_length=50, blank=True)
    medicaid_id = EncryptedCharField("Medicaid ID", max_length=50, blank=True)

    # Program
    referral_source = models.CharField(max_length=150, blank=True)
    psr_date = models.DateField("PSR date", null=True, blank=True)
    treatment_start_date = models.DateField(null=True, blank=True)
    treatment_end_date = models.DateField(null=True, blank=True)

    # Clinical
    diagnosis = EncryptedTextField(blank=True)
    diagnosis_codes = EncryptedListField("diagnosis codes (ICD-10-CM)", blank=True, default=list)
    allergies = EncryptedTextField(blank=True)
    medical_history = EncryptedTextField(blank=True)
    current_medications = EncryptedTextField(blank=True)
    blood_type = models.CharField(max_length=3, choices=BloodType.choices, blank=True)

    # SSN: encrypted; looked up through a keyed hash; shown only as ***-**-1234.
    ssn = EncryptedCharField("SSN", max_length=11, blank=True)
    ssn_hash = models.CharField(max_length=64, blank=True, editable=False)
    ssn_last4 = models.CharField(max_length=4, blank=True, editable=False)

    # Bookkeeping
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    last_accessed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_accessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    access_count = models.PositiveIntegerField(default=0, editable=False)

    # The phone as digits: the duplicate check's lookup, and the search text's (PatientListEntry).
    phone_digits = models.CharField(max_length=10, blank=True, editable=False)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("view_clinical", "Can view clinical fields"),
            ("change_clinical", "Can change clinical fields"),
            ("view_ssn", "Can view the masked SSN"),
            ("change_ssn", "Can enter the SSN"),
            ("deactivate_patient", "Can deactivate patients"),
            ("reactivate_patient", "Can reactivate patients and see inactive ones"),
            ("change_patient_number", "Can change patient numbers"),
        ]
        constraints = [
            models.UniqueConstraint(Upper("patient_number"), name="patients_patient_number_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(treatment_end_date__isnull=True)
                | models.Q(treatment_start_date__isnull=True)
                | models.Q(treatment_end_date__gte=models.F("treatment_start_date")),
                name="patients_treatment_end_after_start",
            ),
        ]
        # Lists, search and sorting read PatientListEntry; the patient table keeps only the indexes of the
        # lookups made on it: by patient number (the constraint above), and the duplicate check's SSN and phone.
        indexes = [
            models.Index(fields=["ssn_hash"], name="patients_ssn_hash_idx"),
            models.Index(fields=["phone_digits"], name="patients_phone_digits_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.patient_number})"

    def get_absolute_url(self) -> str:
        return reverse("patients:patient-detail", args=[self.pk])

    # --- Derived values ---

    @property
    def age(self) -> int | None:
        return age_on(self.date_of_birth, timezone.localdate()) if self.date_of_birth else None

    @property
    def ssn_masked(self) -> str:
        return mask_ssn(self.ssn_last4)

    @property
    def display_name(self) -> str:
        preferred = f" “{self.preferred_name}”" if self.preferred_name else ""
        return f"{self.first_name}{preferred} {self.last_name}"

    # --- Rules (forms, API and admin all run them through full_clean) ---
    # Phone, ZIP, state, SSN and diagnosis codes are validated and normalised here (not by field
    # validators, which would report the same problem twice).

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def check(field: str, normalise) -> None:
            try:
                setattr(self, field, normalise(getattr(self, field)))
            except ValidationError as exc:
                errors.setdefault(field, []).extend(exc.messages)

        for field in ("first_name", "last_name", "preferred_name", "occupation", "address", "city",
                      "emergency_contact_name", "insurance_provider", "referral_source"):  # fmt: skip
            setattr(self, field, " ".join((getattr(self, field) or "").split()))
        for field in ("first_name", "last_name"):
            if not getattr(self, field):
                errors.setdefault(field, []).append("This field cannot be blank.")
        self.email = (self.email or "").strip().lower()
        self.patient_number = (self.patient_number or "").strip().upper()
        check("phone", validation.normalize_phone)
        check("emergency_contact_phone", validation.normalize_phone)
        check("zip_code", validation.normalize_zip)
        check("state", validation.normalize_state)
        check("ssn", validation.normalize_ssn)
        check("diagnosis_codes", validation.normalize_diagnosis_codes)

        today = timezone.localdate()
        if self.date_of_birth:
            if self.date_of_birth > today:
                errors.setdefault("date_of_birth", []).append("Date of birth cannot be in the future.")
            elif age_on(self.date_of_birth, today) > MAX_AGE_YEARS:
                errors.setdefault("date_of_birth", []).append(
                    f"Date of birth gives an age over {MAX_AGE_YEARS} years; check the year."
                )
        for field, bounds in (
            ("date_of_birth", birth_date_range()),
            ("psr_date", page_date_range()),
            ("treatment_start_date", page_date_range()),
            ("treatment_end_date", page_date_range()),
        ):
            value = getattr(self, field)
            if value and field not in errors and not bounds[0] <= value <= bounds[1]:
                low, high = bounds
                errors.setdefault(field, []).append(f"Give a date between {low:%m/%d/%Y} and {high:%m/%d/%Y}.")
        if (
            self.treatment_start_date
            and self.treatment_end_date
            and self.treatment_end_date < self.treatment_start_date
        ):
            errors.setdefault("treatment_end_date", []).append("Treatment end date cannot be before the start date.")
        if self.patient_number:
            clash = Patient.objects.filter(patient_number__iexact=self.patient_number).exclude(pk=self.pk).first()
            if clash is not None:
                errors.setdefault("patient_number", []).append(
                    f"Patient number {self.patient_number} is already used by another patient ({clash.patient_number})."
                )
        if errors:
            raise ValidationError(errors)

    def validate_unique(self, exclude=None) -> None:
        # patient_number uniqueness is checked case-insensitively in clean(), with a clearer message.
        super().validate_unique(exclude=[*(exclude or []), "patient_number"])

    def validate_constraints(self, exclude=None) -> None:
        super().validate_constraints(exclude=[*(exclude or []), "patient_number"])

    def refresh_derived_fields(self) -> None:
        """Recompute the lookup columns from the editable fields (called on every save)."""
        self.phone_digits = validation.digits(self.phone)[-10:]
        self.ssn_hash = ssn_lookup_hash(self.ssn) if self.ssn else ""
        self.ssn_last4 = self.ssn[-4:] if self.ssn else ""

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            if not self.patient_number:
                self.patient_number = next_patient_number()
            self.refresh_derived_fields()
            super().save(*args, **kwargs)
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not PatientListEntry.SOURCE_FIELDS.isdisjoint(update_fields):
                PatientListEntry.save_for([self], using=self._state.db)


class PatientListEntry(models.Model):
    """The patient list's read model: one row per patient holding what the list shows, filters, sorts and
    searches on, and nothing encrypted.

    The list page, its htmx partial, the API list, the booking picker and exports read it with plain Django
    (``patients.selectors.patient_list``). A patient row is about 1.3 kB (the encrypted columns); an entry is
    a few hundred bytes, so a search reads a fraction of the pages and the table stays in the buffer cache.

    ``Patient.save()`` keeps it in step in the same transaction (``save_for``); bulk loads call ``save_for``
    or write it themselves (``patients.demo``). Nothing else writes it.
    """

    # Copied from the patient as they are.
    COPIED_FIELDS = (
        "patient_number", "first_name", "last_name", "preferred_name", "date_of_birth", "gender", "marital_status",
        "session", "insurance_type", "blood_type", "phone", "email", "address", "city", "state", "occupation",
        "ssn_last4", "is_active", "created_at",
    )  # fmt: skip
    # The patient's fields whose change rewrites the entry (derived columns come from these).
    SOURCE_FIELDS = frozenset({*COPIED_FIELDS, "phone_digits"})

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, primary_key=True, related_name="list_entry")
    patient_number = models.CharField(max_length=20)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    gender = models.CharField(max_length=10, choices=Patient.Gender.choices)
    marital_status = models.CharField(max_length=10, choices=Patient.MaritalStatus.choices)
    session = models.CharField(max_length=2, choices=Patient.Session.choices, blank=True)
    insurance_type = models.CharField(max_length=10, choices=Patient.InsuranceType.choices, blank=True)
    blood_type = models.CharField(max_length=3, choices=Patient.BloodType.choices, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    occupation = models.CharField(max_length=100, blank=True)
    ssn_last4 = models.CharField(max_length=4, blank=True)
    is_active = models.BooleanField()
    created_at = models.DateTimeField()
    # Derived: lower-case, accent-free names (the list's order on every database, and "Did you mean"), and
    # one lower-case text of every searchable field, phone as digits (trigram-indexed on PostgreSQL).
    last_name_key = models.CharField(max_length=100)
    first_name_key = models.CharField(max_length=100)
    search_text = models.TextField()

    class Meta:
        indexes = [
            # The default order: PostgreSQL walks it and stops after a page when a search term is common (on
            # PostgreSQL migration 0007 makes it hold is_active and search_text too: an index-only walk).
            models.Index(fields=["last_name_key", "first_name_key", "patient"], name="patients_entry_name_order"),
            # Sorting by first name, and "Did you mean" on first names.
            models.Index(fields=["first_name_key", "last_name_key", "patient"], name="patients_entry_first_order"),
            # Age filters, sorting by birth date, and the duplicate check (same birth date).
            models.Index(fields=["date_of_birth"], name="patients_entry_born"),
            # On PostgreSQL a pg_trgm GIN index on search_text is added by migration 0007.
        ]

    def __str__(self) -> str:
        return f"list entry of patient {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("patients:patient-detail", args=[self.pk])

    @property
    def age(self) -> int:
        return age_on(self.date_of_birth, timezone.localdate())

    @property
    def ssn_masked(self) -> str:
        return mask_ssn(self.ssn_last4)

    @classmethod
    def from_patient(cls, patient: Patient) -> "PatientListEntry":
        entry = cls(patient_id=patient.pk, **{name: getattr(patient, name) for name in cls.COPIED_FIELDS})
        entry.last_name_key = name_key(patient.last_name)
        entry.first_name_key = name_key(patient.first_name)
        parts = [
            patient.first_name, patient.last_name, patient.preferred_name, patient.patient_number, patient.email,
            patient.phone_digits, patient.address, patient.city, patient.state, patient.occupation,
        ]  # fmt: skip
        entry.search_text = " ".join(part.lower() for part in parts if part)
        return entry

    @classmethod
    def save_for(cls, patients: list[Patient], *, using: str | None = None) -> None:
        """Write (insert or replace) the entries of saved ``patients`` in one statement."""
        entries = [cls.from_patient(patient) for patient in patients]
        fields = [field.name for field in cls._meta.concrete_fields if not field.primary_key]
        upsert = {"update_conflicts": True, "unique_fields": ["patient"], "update_fields": fields}
        cls.objects.using(using).bulk_create(entries, **upsert)
        # Names may have changed: "Did you mean" reads the names again (patients.selectors.name_vocabulary),
        # and the list counts its matches again (a new version: patients.selectors.match_count). When the
        # cache is down there is nothing to clear (and what it kept expires within minutes).
        # Cleared now (this transaction's own reads) and again at commit (a reader in between would have
        # counted without the uncommitted change, under the new version).
        stale = [NAME_VOCABULARY_CACHE_KEY, LIST_VERSION_CACHE_KEY]
        _forget(stale)
        transaction.on_commit(lambda: _forget(stale), using=using)


def _forget(keys: list[str]) -> None:
    with contextlib.suppress(*CACHE_ERRORS):
        cache.delete_many(keys)


NAME_VOCABULARY_CACHE_KEY = "patients:name-vocabulary"
# The version of the list's entries in Django's cache: deleted by every write, so counts kept under the old one
# are no longer read.
LIST_VERSION_CACHE_KEY = "patients:list-version"


def name_key(name: str) -> str:
    """A name as the list sorts and "Did you mean" compares it: lower case, accents dropped, single spaces."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().split())


def mask_ssn(last4: str) -> str:
    """How pages and the API show an SSN: its last four digits only."""
    return f"***-**-{last4}" if last4 else ""


def age_on(born: date, today: date) -> int:
    """Whole years from ``born`` to ``today``. Someone born on 29 February has a birthday on the 28th in other
    years (as ``relativedelta`` counts; plain date arithmetic, because lists compute fifty ages a page).
    """
    try:
        birthday = born.replace(year=today.year)
    except ValueError:
        birthday = date(today.year, 2, 28)
    return today.year - born.year - (today < birthday)


class PatientNumberSequence(models.Model):
    """The last patient number handed out. One row; locked while a number is taken."""

    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"P{self.last_value:06d}"


def next_patient_number() -> str:
    """The next free ``P000123`` number. Call inside a transaction."""
    return next_patient_numbers(1)[0]


def next_patient_numbers(count: int) -> list[str]:
    """Reserve ``count`` consecutive free numbers (bulk loading takes a block in one step)."""
    sequence, _ = PatientNumberSequence.objects.select_for_update().get_or_create(pk=1)
    numbers: list[str] = []
    value = sequence.last_value
    while len(numbers) < count:
        candidates = [f"P{value + i:06d}" for i in range(1, count - len(numbers) + 1)]
        value += len(candidates)
        taken = set(
            Patient.objects.annotate(number=Upper("patient_number"))  # what the unique constraint indexes
            .filter(number__in=candidates)
            .values_list("number", flat=True)
        )
        numbers.extend(number for number in candidates if number not in taken)
    sequence.last_value = value
    sequence.save(update_fields=["last_value"])
    return numbers


register_audited(
    Patient,
    patient_field="pk",
    exclude_fields=[*ACCESS_FIELDS, "updated_at", "list_entry", "phone_digits", "ssn_hash", "ssn_last4"],
    mask_fields=ENCRYPTED_FIELDS,
)
