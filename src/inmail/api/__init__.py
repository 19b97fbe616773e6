"""The HTTP entry points: FastAPI app factory, problem+json errors, routers."""
