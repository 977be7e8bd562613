from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin


def activate_chosen_language(request) -> None:
    """Activate the language the user chose (the language cookie), else the product's, Chinese."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    supported = {code for code, _name in settings.LANGUAGES}
    language = chosen if chosen in supported else settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()


class LanguageMiddleware(MiddlewareMixin):
    """Serve Chinese unless the user chose another language with the switcher.

    Django's LocaleMiddleware would follow the browser's Accept-Language header and show an
    English page to an official whose browser happens to be set to English; the product's
    language is a choice the user makes (stored in the language cookie), not a guess.
    """

    def process_request(self, request):
        activate_chosen_language(request)

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class PermissionsPolicyMiddleware:
    """Send settings.PERMISSIONS_POLICY as the Permissions-Policy header on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
