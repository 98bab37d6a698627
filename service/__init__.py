"""Progress Service: FastAPI front end, settings, routes and database access."""
