"""Puts the console into the app: its pages, static files, sign-in redirect, error
pages, and the session hook the alert stream asks."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.frontend.console import pages_classes, pages_ops, pages_student, sign_in
from service.frontend.console.identity import SignInRequired, read_session
from service.frontend.console.rendering import PREFIX, STATIC_DIR, error_page, sign_in_redirect
from service.frontend.console.session import SessionSigner
from service.settings import Settings


def install_console(app: FastAPI, settings: Settings) -> None:
    app.state.console_sessions = SessionSigner.from_settings(settings)
    app.state.session_reader = read_session
    app.state.error_page = error_page
    app.add_exception_handler(SignInRequired, sign_in_redirect)
    for module in (sign_in, pages_classes, pages_student, pages_ops):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
