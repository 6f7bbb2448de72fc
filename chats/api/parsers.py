"""The API's JSON parser: DRF's, with a body nested too deep refused as bad input (400), not a 500."""
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Python's JSON decoder recurses once per nested array or object: a few kilobytes of
            # brackets exhaust the interpreter's stack.
            raise ParseError("JSON parse error - the body is nested too deep.") from None
