"""The HTTP face of the service: FastAPI routes, streaming, chat, Slack and the chat page."""
