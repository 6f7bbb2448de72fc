"""Web Push notifications to reps' devices (docs/webchat.md, "Notifications")."""
