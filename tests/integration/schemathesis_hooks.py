"""Loaded by schemathesis in the contract test (SCHEMATHESIS_HOOKS): a OneRoster bundle
upload (`application/zip`) is sent as raw bytes, as schemathesis sends octet streams.
Whatever it generates is no valid zip, so the upload must answer 422, never 5xx."""

import schemathesis

schemathesis.serializer.alias("application/zip", "application/octet-stream")
