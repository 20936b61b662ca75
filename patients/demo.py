"""Synthetic, realistic-looking patients for demos and benchmarks. Development only: nobody here is real.

Built for volume. On PostgreSQL, worker processes generate and encrypt blocks of rows (each block from its
own seed, so a load is reproducible) while this process streams them in with ``COPY``: a million patients
load in a few minutes on two cores. Other databases (SQLite for ``make run`` and the tests) use
``bulk_create``. Every row holds what ``Patient.save()`` would have stored, derived columns included.
"""

import multiprocessing
import os
import random
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate
from types import SimpleNamespace
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from encrypted_model_fields.fields import encrypt_str

from patients.models import ENCRYPTED_FIELDS, Patient, PatientListEntry, next_patient_numbers
from spectrum.fields import EncryptedListField

FIRST_NAMES = (  # noqa: SIM905 (a word list reads better as text)
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy "
    "George Melissa Timothy Deborah Ronald Stephanie Jason Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick "
    "Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia "
    "Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn "
    "Noah Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria "
    "Sean Teresa Austin Ann Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan "
    "Abigail Billy Alice Joe Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn "
    "Juan Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene "
    "Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Luis Carmen Yolanda Miguel Rosa Alejandro Lucia"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
    "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford "
    "Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman "
    "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
    "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice "
    "Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer "
    "Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong "
    "Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards "
    "Contreras Willis Carpenter Lawrence Sandoval O'Brien Dubois"
).split()
STREETS = (  # noqa: SIM905
    "Main St|Oak Ave|Biscayne Blvd|Flagler St|Coral Way|Palm Ave|Ocean Dr|Collins Ave|Bird Rd|Sunset Dr|"
    "Calle Ocho|Pine St|Maple Ave|Cedar Ln|Lake Dr|Park Ave|Hibiscus St|Bay Rd|Royal Palm Ave|Grand Ave"
).split("|")
CITIES = [
    ("Miami", "FL", "331"), ("Hialeah", "FL", "330"), ("Fort Lauderdale", "FL", "333"), ("Hollywood", "FL", "330"),
    ("Coral Gables", "FL", "331"), ("Homestead", "FL", "330"), ("Doral", "FL", "331"), ("Kendall", "FL", "331"),
    ("Miramar", "FL", "330"), ("Pembroke Pines", "FL", "330"), ("Orlando", "FL", "328"), ("Tampa", "FL", "336"),
    ("Atlanta", "GA", "303"), ("Savannah", "GA", "314"), ("San Juan", "PR", "009"), ("Newark", "NJ", "071"),
]  # fmt: skip
AREA_CODES = ["305", "786", "954", "754", "407", "813", "404", "787", "973"]
OCCUPATIONS = [
    "", "", "Unemployed", "Retired", "Cashier", "Teacher", "Driver", "Construction worker", "Nurse aide",
    "Student", "Cook", "Home health aide", "Security guard", "Disabled", "Mechanic", "Office clerk",
]  # fmt: skip
REFERRALS = ["Self", "Family", "Primary care physician", "Hospital discharge", "Court", "Community agency", "School"]
PROVIDERS = {
    "medicaid": ["Sunshine Health", "Simply Healthcare", "Humana Medical Plan", "Molina Healthcare"],
    "medicare": ["Medicare Part B", "Humana Medicare Advantage", "AARP Medicare Advantage"],
    "private": ["Aetna", "Cigna", "Florida Blue", "UnitedHealthcare", "Ambetter"],
    "other": ["TRICARE", "VA Community Care"],
    "uninsured": [""],
}
DIAGNOSES = [
    ("Schizophrenia, unspecified", ["F20.9"]),
    ("Schizoaffective disorder, bipolar type", ["F25.0"]),
    ("Bipolar disorder, current episode depressed, moderate", ["F31.32"]),
    ("Major depressive disorder, recurrent, moderate", ["F33.1"]),
    ("Major depressive disorder, recurrent, severe without psychotic features", ["F33.2"]),
    ("Generalized anxiety disorder", ["F41.1"]),
    ("Post-traumatic stress disorder, chronic", ["F43.12"]),
    ("Major depressive disorder with generalized anxiety", ["F33.1", "F41.1"]),
    ("Bipolar I disorder with alcohol use disorder, in remission", ["F31.9", "F10.21"]),
    ("Obsessive-compulsive disorder", ["F42.2"]),
]
MEDICATIONS = [
    "Sertraline 100 mg daily", "Aripiprazole 10 mg daily", "Quetiapine 200 mg at bedtime", "Lithium 300 mg twice daily",
    "Fluoxetine 20 mg daily", "Risperidone 2 mg twice daily", "Buspirone 15 mg twice daily", "Lamotrigine 100 mg daily",
    "Olanzapine 10 mg at bedtime", "Bupropion XL 300 mg daily", "Trazodone 50 mg at bedtime",
]  # fmt: skip
ALLERGIES = ["", "", "", "No known drug allergies", "Penicillin", "Sulfa drugs", "Latex", "Peanuts", "Codeine"]
HISTORY = [
    "", "Hypertension.", "Type 2 diabetes.", "Asthma.", "Hypothyroidism.", "Prior psychiatric hospitalization (2019).",
    "Hyperlipidemia; obesity.", "Seizure disorder, controlled.",
]  # fmt: skip
BLOOD_TYPES = ["O+", "O+", "O+", "A+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-", ""]


_INSURANCE_TYPES = list(PROVIDERS)
_INSURANCE_CUM_WEIGHTS = list(accumulate([45, 20, 25, 3, 7]))  # random.choices(weights=...) sums them per call


def _ssn_for(index: int) -> str:
    """A distinct, well-formed (never issued-looking) SSN per index: areas 001-665 and 667-899."""
    serial = index % 9999 + 1
    group = (index // 9999) % 99 + 1
    area = (index // (9999 * 99)) % 898 + 1
    area = area + 1 if area >= 666 else area
    return f"{area:03d}-{group:02d}-{serial:04d}"


def _phone(rng: random.Random) -> str:
    return f"({rng.choice(AREA_CODES)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def patient_values(rng: random.Random, index: int, today: date) -> dict[str, Any]:
    """The editable fields of one synthetic patient, already in the form the model's ``clean()`` produces."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, state, zip_prefix = rng.choice(CITIES)
    insurance = rng.choices(_INSURANCE_TYPES, cum_weights=_INSURANCE_CUM_WEIGHTS)[0]
    insured = insurance != "uninsured"
    diagnosis, codes = rng.choice(DIAGNOSES)
    start = today - timedelta(days=rng.randint(0, 6 * 365))
    return {
        "first_name": first,
        "last_name": last,
        "preferred_name": rng.choice(["", "", "", "", first[:3]]),
        "date_of_birth": today - timedelta(days=rng.randint(18 * 365, 85 * 365)),
        "gender": rng.choice(["male", "female", "female", "male", "other", "unknown"]),
        "marital_status": rng.choice(["single", "single", "married", "divorced", "widowed", "separated", "unknown"]),
        "occupation": rng.choice(OCCUPATIONS),
        "session": rng.choice(["AM", "PM", ""]),
        "phone": _phone(rng),
        "email": f"{first}.{last}{index}@example.com".lower().replace("'", "") if rng.random() < 0.6 else "",
        "address": f"{rng.randint(10, 19999)} {rng.choice(['NW', 'SW', 'NE', 'SE', ''])} {rng.choice(STREETS)}".replace(
            "  ", " "
        ),
        "city": city,
        "state": state,
        "zip_code": f"{zip_prefix}{rng.randint(0, 99):02d}",
        "emergency_contact_name": f"{rng.choice(FIRST_NAMES)} {last}",
        "emergency_contact_phone": _phone(rng),
        "insurance_type": insurance,
        "insurance_provider": rng.choice(PROVIDERS[insurance]),
        "insurance_number": f"{rng.choice('ABHKMW')}{rng.randint(10**8, 10**9 - 1)}" if insured else "",
        "medicaid_id": f"{rng.randint(10**9, 10**10 - 1)}" if insurance == "medicaid" else "",
        "referral_source": rng.choice(REFERRALS),
        "psr_date": start if rng.random() < 0.5 else None,
        "treatment_start_date": start,
        "treatment_end_date": start + timedelta(days=rng.randint(90, 720)) if rng.random() < 0.2 else None,
        "diagnosis": diagnosis,
        "diagnosis_codes": list(codes),
        "allergies": rng.choice(ALLERGIES),
        "medical_history": rng.choice(HISTORY),
        "current_medications": "; ".join(rng.sample(MEDICATIONS, rng.randint(0, 3))),
        "blood_type": rng.choice(BLOOD_TYPES),
        "ssn": _ssn_for(index) if rng.random() < 0.7 else "",
    }


def generate_values(count: int, *, seed: int = 2026, start_index: int = 0, today: date | None = None):
    """``(index, values)`` for ``count`` patients from ``start_index``, from one seed (a block of a load)."""
    rng = random.Random(seed + start_index)
    today = today or timezone.localdate()
    for index in range(start_index, start_index + count):
        yield index, patient_values(rng, index, today)


# --- Loading -------------------------------------------------------------------------------------------

BLOCK_SIZE = 10_000  # rows per seed, per COPY and per number reservation (next_patient_numbers checks a list)
# From this many rows (and at least as many as the table holds), the secondary indexes are dropped and built
# again at the end: keeping the trigram index up to date costs ~110 µs a row, building it ~50 µs.
REBUILD_INDEXES_FROM = 100_000


def load(
    count: int, *, batch_size: int = BLOCK_SIZE, progress: Callable[[int], None] | None = None,
    workers: int | None = None, seed: int = 2026, rebuild_indexes: bool | None = None,
) -> int:  # fmt: skip
    """Add ``count`` synthetic patients in blocks. Returns how many were added.

    Patient numbers are reserved block by block through the number sequence, so they never clash with
    numbers handed out meanwhile. On PostgreSQL a large load (``rebuild_indexes``; by default from
    ``REBUILD_INDEXES_FROM`` rows and at least the table's size) drops the non-unique indexes and builds them
    again at the end, all in one transaction that holds the table's lock until it ends: an interrupted
    load leaves the table as it was. Otherwise each block commits on its own.
    """
    if count <= 0:
        return 0
    start_index = Patient.objects.count()
    blocks = [(start_index + done, min(batch_size, count - done)) for done in range(0, count, batch_size)]
    if connection.vendor != "postgresql":
        return _load_with_orm(blocks, progress=progress, seed=seed)
    if rebuild_indexes is None:
        rebuild_indexes = count >= REBUILD_INDEXES_FROM and count >= start_index
    if rebuild_indexes:
        with transaction.atomic():
            indexes = [*_drop_secondary_indexes(Patient), *_drop_secondary_indexes(PatientListEntry)]
            added = _load_with_copy(blocks, progress=progress, seed=seed, workers=workers)
            _create_indexes(indexes)
    else:
        added = _load_with_copy(blocks, progress=progress, seed=seed, workers=workers)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        cursor.execute("ANALYZE patients_patientlistentry")
    return added


def _load_with_orm(blocks: list[tuple[int, int]], *, progress, seed: int) -> int:
    added = 0
    for block_start, size in blocks:
        with transaction.atomic():
            batch = []
            values = generate_values(size, seed=seed, start_index=block_start)
            for (_, fields), number in zip(values, next_patient_numbers(size), strict=True):
                patient = Patient(**fields, patient_number=number)
                patient.refresh_derived_fields()  # what save() does; bulk_create does not call save()
                batch.append(patient)
            Patient.objects.bulk_create(batch, batch_size=1000)
            PatientListEntry.save_for(batch)
        added += size
        if progress:
            progress(added)
    return added


def _load_with_copy(blocks: list[tuple[int, int]], *, progress, seed: int, workers: int | None) -> int:
    """Workers build and encrypt blocks of COPY text; this process reserves numbers and streams the blocks."""
    today, now = timezone.localdate(), timezone.now()
    sql = f"COPY patients_patient ({', '.join(field.column for field in copy_fields())}) FROM STDIN"
    workers = workers if workers is not None else (os.cpu_count() or 1)
    added = 0

    def task(block: tuple[int, int]) -> tuple:
        block_start, size = block
        with transaction.atomic():
            numbers = next_patient_numbers(size)
        return block_start, numbers, seed, today, now

    def write(data: bytes, size: int) -> None:
        nonlocal added
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT coalesce(max(id), 0) FROM patients_patient")
                [(last_id,)] = cursor.fetchall()
                with cursor.copy(sql) as copy:
                    copy.write(data)
            # What Patient.save() would have written beside each row (patients saved meanwhile have theirs).
            loaded = Patient.objects.filter(pk__gt=last_id, list_entry__isnull=True)
            PatientListEntry.save_for(list(loaded.only("pk", *PatientListEntry.SOURCE_FIELDS)))
            # Run the deferred foreign-key checks now: one transaction for a whole load would queue them
            # all, and CREATE INDEX refuses to run while any are pending.
            connection.check_constraints()
        added += size
        if progress:
            progress(added)

    if workers <= 1 or len(blocks) == 1:
        for block in blocks:
            write(build_copy_block(*task(block)), block[1])
        return added
    # fork: the workers inherit the settings and the encryption keys, and never touch the database.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque = deque()
        for block in blocks:
            pending.append((pool.apply_async(build_copy_block, task(block)), block[1]))
            if len(pending) > workers:  # keep every worker busy while this process writes
                result, size = pending.popleft()
                write(result.get(), size)
        while pending:
            result, size = pending.popleft()
            write(result.get(), size)
    return added


def _drop_secondary_indexes(model: type[models.Model]) -> list[str]:
    """Drop the table's non-unique indexes (unique ones keep guarding); returns their definitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
            [model._meta.db_table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes]


def _create_indexes(definitions: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)


def copy_fields() -> list[models.Field]:
    """The fields COPY fills, in column order: all but the primary key."""
    return [field for field in Patient._meta.concrete_fields if not field.primary_key]


def build_copy_block(block_start: int, numbers: list[str], seed: int, today: date, now: datetime) -> bytes:
    """COPY text (one line per patient) for the block of patients from ``block_start`` (runs in a worker)."""
    values = generate_values(len(numbers), seed=seed, start_index=block_start, today=today)
    lines = [copy_line(fields, number, now) for (_, fields), number in zip(values, numbers, strict=True)]
    lines.append("")
    return "\n".join(lines).encode()


def copy_line(values: dict[str, Any], number: str, now: datetime) -> str:
    """The columns ``Patient(**values, patient_number=number).save()`` would write, as a line of COPY text.

    The derived columns come from the model's own ``refresh_derived_fields``, run on a plain object
    (a model instance per row would cost more than the rest of the row).
    """
    converters, defaults = _copy_plan()
    record = SimpleNamespace(**{**defaults, **values, "patient_number": number, "created_at": now, "updated_at": now})
    Patient.refresh_derived_fields(record)
    row = vars(record)
    return "\t".join([convert(row[attname]) for attname, convert in converters])


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _text(value: Any) -> str:
    if value is None:
        return _NULL
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:  # four scans beat one translate()
        return text.translate(_COPY_ESCAPES)
    return text


@cache  # dates repeat a lot, and so does the load's one time stamp
def _temporal(value: date | None) -> str:
    return _NULL if value is None else value.isoformat()


def _boolean(value: bool | None) -> str:
    return _NULL if value is None else ("t" if value else "f")


def _number(value: int | None) -> str:
    return _NULL if value is None else str(int(value))


def _encrypted(field: models.Field) -> Callable[[Any], str]:
    prepare = field.get_prep_value if isinstance(field, EncryptedListField) else str

    def convert(value: Any) -> str:
        # As the field's get_db_prep_save: the plain value as text, encrypted (an empty string too).
        return _NULL if value is None else encrypt_str(prepare(value)).decode()

    return convert


@cache
def _copy_plan() -> tuple[list[tuple[str, Callable[[Any], str]]], dict[str, Any]]:
    """Per column: the attribute and its text conversion; and every field's default."""
    converters = []
    for field in copy_fields():
        if field.name in ENCRYPTED_FIELDS:
            convert = _encrypted(field)
        elif isinstance(field, models.BooleanField):
            convert = _boolean
        elif isinstance(field, models.DateField):  # and DateTimeField
            convert = _temporal
        elif isinstance(field, models.IntegerField | models.ForeignKey):
            convert = _number
        else:
            convert = _text
        converters.append((field.attname, convert))
    return converters, {field.attname: field.get_default() for field in copy_fields()}
