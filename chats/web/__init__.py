"""The reps' web chat: server-rendered pages; chat.js talks to API v1 and /ws/chat/."""
