"""Settings that follow how Rapport is started."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRINT = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
         "from django.conf import settings; print(settings.PUBLIC_BASE_URL)")


def _public_base_url(**env_overrides) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "RAPPORT_HOST", "RAPPORT_PORT")}
    run = subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=env | env_overrides, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_tracked_links_follow_the_port_make_run_serves_on():
    # `make run PORT=9400` passes its address on; links are built on it unless PUBLIC_BASE_URL says otherwise
    make = subprocess.run(["make", "-n", "run", "PORT=9400"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "RAPPORT_PORT=9400" in make.stdout and "--port 9400" in make.stdout
    assert _public_base_url(RAPPORT_PORT="9400") == "http://127.0.0.1:9400"
    assert _public_base_url() == "http://127.0.0.1:8000"
    assert _public_base_url(RAPPORT_PORT="9400", PUBLIC_BASE_URL="https://rapport.example") == "https://rapport.example"


def test_the_channel_layer_shards_across_the_redis_servers_listed():
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
            "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'])")

    def hosts(**env_overrides) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CHANNEL_LAYER_URLS")}
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env | env_overrides, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    # by default the one Redis of REDIS_URL; listed, several (settings only: nothing connects)
    assert hosts(REDIS_URL="redis://10.0.0.1:6379/0") == "['redis://10.0.0.1:6379/0']"
    assert hosts(REDIS_URL="redis://10.0.0.1:6379/0", CHANNEL_LAYER_URLS="redis://10.0.0.2:6379/0,redis://10.0.0.3:6379/0") \
        == "['redis://10.0.0.2:6379/0', 'redis://10.0.0.3:6379/0']"
