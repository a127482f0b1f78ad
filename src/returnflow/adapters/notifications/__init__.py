"""Customer notifications: emails rendered from Jinja2 templates and sent over SMTP."""
