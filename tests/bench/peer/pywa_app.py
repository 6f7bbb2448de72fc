"""The peer of the webhook bench (tests/bench/peer_wrk.py): pywa on FastAPI, as its documentation
sets it up, verifying X-Hub-Signature-256 with the app secret and parsing every update into its
types (a message handler that does nothing). It stores nothing: pywa answers 200 before it parses
(FastAPI's background task), and a stopped process loses what it had not handled yet.

Runs only in the bench's own virtualenv (.bench-venv, tests/bench/peer/requirements.txt):
    .bench-venv/bin/uvicorn --app-dir tests/bench/peer pywa_app:app --workers 2
"""
import logging
import os

from fastapi import FastAPI
from pywa import WhatsApp, types

logging.getLogger("pywa").setLevel(logging.WARNING)  # a line per update otherwise

app = FastAPI()
wa = WhatsApp(phone_id=os.environ.get("BENCH_PHONE_NUMBER_ID", "bench"), token="bench-token", server=app,
              webhook_endpoint="/webhooks/whatsapp/", verify_token="bench-verify-token",
              app_secret=os.environ["BENCH_APP_SECRET"], validate_updates=True)
handled = 0


@wa.on_message
def on_message(_client: WhatsApp, message: types.Message) -> None:
    global handled
    handled += 1  # parsed into pywa's Message; nothing else, as a fair floor for "verify and parse"
