"""HTTP: the FastAPI app, JSON API routers and server-rendered pages."""
