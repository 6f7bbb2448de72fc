# The WhatsApp test world (tests/whatsapp/conftest.py): reps, HCPs, numbers, the fake Graph API.
from tests.whatsapp.conftest import _fast_passwords, ada, alex, blair, fake_graph, shared_number, solo_number  # noqa: F401
