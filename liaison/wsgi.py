import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: a production start with the console email or SMS backend
# (messages only logged, yet recorded as sent) stops here (liaison.checks).
from liaison.checks import refuse_to_start_on_errors  # noqa: E402

refuse_to_start_on_errors()
