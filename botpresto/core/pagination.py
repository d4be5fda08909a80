from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset pagination that says so when a value is wrong, instead of ignoring it."""

    max_limit = 500

    def _whole_number(self, request: Request, name: str) -> int | None:
        raw = request.query_params.getlist(name)
        if not raw:
            return None
        if len(raw) > 1 or not (raw[0].isascii() and raw[0].isdigit()):
            raise ValidationError({name: ["Must be one whole number, 0 or more."]})
        return int(raw[0])

    def get_limit(self, request: Request) -> int | None:
        limit = self._whole_number(request, self.limit_query_param)
        if limit is None:
            return self.default_limit
        if not 1 <= limit <= self.max_limit:
            raise ValidationError({self.limit_query_param: [f"Must be from 1 to {self.max_limit}."]})
        return limit

    def get_offset(self, request: Request) -> int:
        return self._whole_number(request, self.offset_query_param) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_limit)
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0)
        return parameters
