"""Files HCPs send: fetched from Meta once per message, stored through Django's storage API, served to
the thread's rep and to export staff only (docs/whatsapp.md "Inbound media")."""
