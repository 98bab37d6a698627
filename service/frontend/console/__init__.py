"""The teacher console: server-rendered pages (Jinja2) over the API's own handlers, so a
page shows exactly what the API gives its caller (docs/console.md, decision 017)."""
