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
