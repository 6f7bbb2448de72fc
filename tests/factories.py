"""factory-boy factories for the domain. Defaults make a valid, opted-in HCP."""
import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from chats.models import Account, PhoneAssignment, PhoneNumber, Thread, UserProfile, WhatsAppBusinessAccount
from consent.models import ConsentMethod, ConsentRecord, ConsentType
from media_links.models import MediaItem
from templates_app.models import MessageTemplate


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"rep{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("rapport-demo")

    @factory.post_generation
    def licensed(obj, create, extracted, **kwargs):
        UserProfile.objects.update_or_create(user=obj, defaults={"has_engage_license": extracted is not False})


class WabaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WhatsAppBusinessAccount
        django_get_or_create = ("waba_id",)

    waba_id = factory.Sequence(lambda n: f"2000000000{n:05d}")
    name = factory.Sequence(lambda n: f"Business {n}")


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber
        skip_postgeneration_save = True

    phone_number_id = factory.Sequence(lambda n: f"1000000001{n:05d}")
    display_phone_number = factory.Sequence(lambda n: f"+1 555 011 {n % 10000:04d}")
    verified_name = "Rapport Pharma"
    waba = factory.SubFactory(WabaFactory)

    @factory.post_generation
    def reps(obj, create, extracted, **kwargs):
        for user in extracted or []:
            PhoneAssignment.objects.create(user=user, phone_number=obj)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Dr. Test {n}")
    specialty = "Cardiology"
    whatsapp_number = factory.Sequence(lambda n: f"+4477009{n % 100000:05d}")
    language = "en"

    @factory.post_generation
    def team(obj, create, extracted, **kwargs):
        if extracted:
            obj.team.add(*extracted)

    @factory.post_generation
    def consent(obj, create, extracted, **kwargs):
        status = "opted_in" if extracted is None else extracted
        if status in ("opted_in", "opted_out"):
            ConsentRecord.objects.create(account=obj, status=status, captured_via="admin", captured_at=timezone.now())


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    phone_number = factory.SubFactory(PhoneNumberFactory)


class ConsentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentType
        django_get_or_create = ("language",)

    language = "en"
    subscribe_keywords = "START"
    unsubscribe_keywords = "STOP"
    wording = "I agree to receive WhatsApp messages from my representative. I can reply STOP at any time."


class ConsentMethodFactory(factory.django.DjangoModelFactory):
    """Migrations seed the methods; transactional tests flush them, so tests ask for the one they use."""

    class Meta:
        model = ConsentMethod
        django_get_or_create = ("code",)

    code = "verbal"
    label = factory.LazyAttribute(lambda m: m.code.replace("_", " ").capitalize())


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    waba = factory.SubFactory(WabaFactory)
    name = factory.Sequence(lambda n: f"template_{n}")
    language = "en"
    kind = MessageTemplate.Kind.META
    usage = MessageTemplate.Usage.GENERAL
    meta_category = MessageTemplate.MetaCategory.MARKETING
    meta_status = MessageTemplate.MetaStatus.APPROVED
    body = "Hello {{1}}, this is {{2}}."
    bindings = factory.LazyFunction(lambda: {"1": "account.name", "2": "rep.full_name"})
    display_order = factory.Sequence(lambda n: n + 1)


class MediaItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaItem

    kind = MediaItem.Kind.WEBSITE
    title = factory.Sequence(lambda n: f"Media {n}")
    url = factory.Sequence(lambda n: f"https://example.com/media/{n}")
    web_link_enabled = True


def api_token(user) -> str:
    """A new API token's key for `user` (stored hashed, as every token is)."""
    from chats.inbox.services import api_token_issue

    return api_token_issue(user=user)[0]
