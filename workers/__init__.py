"""Celery entrypoint: the app factory, the embedded broker and thin named tasks taking ids."""
