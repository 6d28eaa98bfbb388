"""Stripe-shaped API errors for the stand-in.

Subclasses localstripe's ``UserError`` so that localstripe's own error
middleware turns them into responses, but with the body Stripe sends:
``{"error": {"type": ..., "code": ..., "message": ..., "param": ..., ...}}``.
"""

from localstripe.errors import UserError, json_response

DOC_URL = "https://stripe.com/docs/error-codes/"


class StripeError(UserError):
    """An error answered with Stripe's JSON shape and a given HTTP status."""

    def __init__(self, status, message, *, type="invalid_request_error", code=None, param=None, **extra):
        Exception.__init__(self, message)
        self.code = status  # localstripe's UserError keeps the HTTP status here
        error = {"type": type, "message": message}
        if code:
            error["code"] = code
            error["doc_url"] = DOC_URL + code.replace("_", "-")
        if param is not None:
            error["param"] = param
        error.update({k: v for k, v in extra.items() if v is not None})
        self.body = {"error": error}

    def to_response(self, headers=None):
        response = json_response(self.body, status=self.code)
        if headers:
            response.headers.update(headers)
        return response


def missing_param(param):
    return StripeError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown_param(param):
    return StripeError(400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def invalid_integer(param, value):
    return StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)


def invalid_param(param, message, code=None):
    return StripeError(400, message, code=code, param=param)


def no_such(object_name, id, param="id", status=400):
    return StripeError(status, f"No such {object_name}: '{id}'", code="resource_missing", param=param)
