"""The published OpenAPI document, finished for generated clients (drf-spectacular postprocessing hook).

`npx @redocly/cli lint` with its recommended rules reports no error on it
(tests/api/test_schema.py runs it when npx can fetch the linter):
- every operation has a summary (SUMMARIES, one line each);
- paths are published without their trailing slash: the API serves both
  (config/middleware.py), and generated clients then never meet a redirect;
- a nullable object (`allOf: [$ref]`, `nullable: true`) says `type: object` beside it, as
  OpenAPI 3.0 asks of `nullable`;
- an operation without authentication (the token endpoint) says so with `security: []`.
"""

SUMMARIES = {
    "v1_auth_token_create": "Exchange a username and password for an API token",
    "v1_auth_token_revoke_create": "Revoke the token of this request",
    "v1_me_retrieve": "The signed-in user, their license and their numbers",
    "v1_accounts_list": "Search the HCP accounts you may see",
    "v1_accounts_retrieve": "One HCP account",
    "v1_accounts_consent_create": "Capture an HCP's consent and send the confirmation",
    "v1_accounts_history_retrieve": "Export one HCP's whole history (staff)",
    "v1_consent_methods_list": "How consent may be obtained",
    "v1_threads_list": "Your threads, latest activity first",
    "v1_threads_create": "Open (or get) your thread with an HCP",
    "v1_threads_retrieve": "One thread with its state and quick templates",
    "v1_threads_read_create": "Mark a thread read",
    "v1_threads_messages_list": "A thread's messages, page by page",
    "v1_threads_messages_create": "Send a message",
    "v1_threads_messages_reaction_update": "React to a message (one emoji; empty removes)",
    "v1_threads_messages_reaction_destroy": "Remove your reaction from a message",
    "v1_threads_end_create": "End the conversation",
    "v1_threads_typing_create": "Show the HCP that you are typing",
    "v1_messages_media_retrieve": "An HCP's file (image, document, audio, video, sticker)",
    "v1_templates_list": "Templates a thread may send, or the whole catalogue",
    "v1_media_list": "Media items you may share as tracked links",
    "v1_restricted_phrases_check_create": "Check a text for restricted phrases",
    "v1_push_key_retrieve": "Whether notifications are on, and the server's VAPID public key",
    "v1_push_subscribe_create": "Send notifications to this device (Web Push subscription)",
    "v1_push_unsubscribe_create": "Send no more notifications to this device",
    "v1_safety_cases_list": "Possible adverse events, the earliest deadline first (drug safety)",
    "v1_safety_cases_retrieve": "One safety case with its trail (drug safety)",
    "v1_safety_cases_notes_create": "Add what you know to a safety case on your thread",
    "v1_safety_cases_close_create": "Close a safety case as not an adverse event (drug safety)",
    "v1_integration_accounts_list": "Every HCP account, least recently changed first (integration)",
    "v1_integration_accounts_retrieve": "One HCP account by the CRM's id (integration)",
    "v1_integration_accounts_update": "Create or change an HCP by the CRM's id (integration)",
    "v1_integration_accounts_partial_update": "Change an HCP by the CRM's id (integration)",
    "v1_integration_accounts_bulk_create": "Create or change up to 1,000 HCPs (integration)",
    "v1_integration_threads_list": "Every rep's threads (integration, read-only)",
    "v1_integration_threads_messages_list": "Any thread's messages (integration, read-only)",
    "v1_integration_changes_retrieve": "The change feed after a cursor (integration)",
    "v1_integration_webhooks_list": "The integration's webhook subscriptions",
    "v1_integration_webhooks_create": "Subscribe a URL to change types (secret shown once)",
    "v1_integration_webhooks_destroy": "End a webhook subscription",
    "v1_integration_webhooks_rotate_secret_create": "A new signing secret for a subscription (shown once)",
}


def _typed_nullables(node) -> None:
    if isinstance(node, dict):
        if node.get("nullable") and "type" not in node and "allOf" in node:
            node["type"] = "object"
        for value in node.values():
            _typed_nullables(value)
    elif isinstance(node, list):
        for value in node:
            _typed_nullables(value)


def finish_schema(result, generator, request, public):
    paths = {}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            operation.setdefault("summary", SUMMARIES.get(operation["operationId"], operation["operationId"]))
            if "security" not in operation:
                operation["security"] = []
        paths[path.rstrip("/") if path != "/" else path] = operations
    result["paths"] = paths
    _typed_nullables(result)
    return result
