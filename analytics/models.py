from __future__ import annotations

from django.db import models


class BufferedRecord(models.Model):
    """One update's metadata waiting for the analytics workers.

    Used only without Redis (the embedded default): the same buffer, slower.
    """

    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"buffered record {self.pk}"
