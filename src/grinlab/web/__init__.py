"""HTTP API and browser page (the ``web`` extra: FastAPI + uvicorn). ``grinlab serve`` runs it."""
