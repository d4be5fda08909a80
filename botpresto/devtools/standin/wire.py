"""Reading Bot API parameters the three ways Telegram accepts them: JSON, a URL-encoded form, multipart."""

from __future__ import annotations

import json
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]
Files = dict[str, bytes]


def content_type_of(header: str) -> tuple[str, dict[str, str]]:
    """The media type in lower case, and the parameters of a Content-Type header."""
    message = Message()
    message["content-type"] = header or "application/octet-stream"
    params = {key.lower(): collapse_rfc2231_value(value) for key, value in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def parse_body(content_type: str, body: bytes) -> tuple[Params, Files]:
    """Parameters and uploaded files of a request or webhook answer; ValueError when it cannot be read."""
    media_type, type_params = content_type_of(content_type)
    if not body:
        return {}, {}
    if media_type == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body is not an object")
        return data, {}
    if media_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode(), keep_blank_values=True)), {}
    if media_type == "multipart/form-data":
        boundary = type_params.get("boundary")
        if not boundary:
            raise ValueError("multipart body without a boundary")
        return parse_multipart(body, boundary.encode())
    return {}, {}


def parse_multipart(body: bytes, boundary: bytes) -> tuple[Params, Files]:
    params: Params = {}
    files: Files = {}
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, found, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not found:
            continue
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip():
                headers[key.strip()] = value.strip()
        raw_name = headers.get_param("name", header="content-disposition")
        raw_filename = headers.get_param("filename", header="content-disposition")
        if raw_name is None:
            continue
        name = collapse_rfc2231_value(raw_name)
        content = content.removesuffix(b"\r\n")
        if raw_filename is None:
            params[name] = content.decode()
        else:
            files[name] = content
    return params, files


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def as_int(value: Any, default: int) -> int:
    """Like Telegram: absent means the default, garbage reads as 0."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def as_str_list(value: Any) -> list[str] | None:
    """A JSON array given as a string or a list; None when absent or unreadable."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, list):
        return [str(item) for item in value]
    return None


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
