from django.conf import settings
from django.db import models

from .numbers import PhoneNumber


class RolledUpDay(models.Model):
    """A UTC day whose dashboard numbers are stored in DailyMessageRollup (docs/compliance.md, the rollup).

    Also holds the day's median HCP response time: a median is not additive,
    so it is kept per day rather than as counts.
    """

    day = models.DateField(unique=True)
    rolled_at = models.DateTimeField(help_text="When the day's rows were last computed from the messages.")
    replies = models.PositiveIntegerField(default=0, help_text="HCP replies that day (see the response chart).")
    reply_median_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self):
        return f"{self.day} (rolled up {self.rolled_at:%Y-%m-%d %H:%M} UTC)"


class DailyMessageRollup(models.Model):
    """The outbound and inbound messages created on one UTC day that share one key along one dimension.

    - status: direction's counts per (status, sent_at set or not, failure_code);
    - traffic: per (thread's rep, business number); rep empty for unrouted inbound;
    - template: per template (messages without one are not counted here);
    - pricing: outbound only, per (Meta's pricing category, billable); category empty while unpriced;
    - pricing_rep: the same per sender too (the per-rep table), rep in `user`.
    """

    class Dimension(models.TextChoices):
        STATUS = "status", "Status"
        TRAFFIC = "traffic", "Rep and number"
        TEMPLATE = "template", "Template"
        PRICING = "pricing", "Pricing category"
        PRICING_REP = "pricing_rep", "Pricing category and sender"

    day = models.DateField()
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    status = models.CharField(max_length=12, blank=True)
    with_sent_at = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=40, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    phone_number = models.ForeignKey(PhoneNumber, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey("templates_app.MessageTemplate", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    pricing_category = models.CharField(max_length=40, blank=True,
                                        help_text="Meta's pricing category (lower case); empty: not priced yet.")
    billable = models.BooleanField(default=False, help_text="Priced and not free (see docs/compliance.md).")
    outbound = models.PositiveIntegerField(default=0)
    inbound = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "dimension"])]

    def __str__(self):
        return f"{self.day} {self.dimension}: {self.outbound} out, {self.inbound} in"
