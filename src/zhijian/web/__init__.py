"""The web application: FastAPI app factory ``create_app(ws)`` (see app.py)."""
