import factory

from accounts.models import Role, User

PASSWORD = "Correct-Horse-42!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@clinic.test")
    full_name = factory.Faker("name")
    role = Role.STAFF
    password = factory.django.Password(PASSWORD)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.Patient"

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)
    gender = "female"
    phone = factory.Sequence(lambda n: f"(305) 555-{n % 10000:04d}")
    city = "Miami"
    state = "FL"
    insurance_type = "medicaid"
    diagnosis = "Major depressive disorder, recurrent, moderate"
    diagnosis_codes = factory.LazyFunction(lambda: ["F33.1"])
