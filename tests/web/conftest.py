from tests.api.conftest import _fast_passwords, _fresh_matcher, alex, blair, drew, waba  # noqa: F401  (fixtures)
