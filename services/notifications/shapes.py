"""Row → public shape mappers of the notifications service."""

from __future__ import annotations

from services.notifications.models import Delivery, DeliveryAttempt, Notification, Subscription
from services.notifications.rendering import Locale
from services.notifications.schemas import AttemptOut, DeliveryOut, NotificationOut, SubscriptionOut


def to_public(item: Notification, *, locale: Locale, read: bool) -> NotificationOut:
    """The public shape of an inbox item in one language."""
    uk = locale == "uk"
    return NotificationOut(
        id=item.id,
        seq=item.seq,
        audience=item.audience,
        type=item.source_event_type,
        source_event_id=item.source_event_id,
        subject_id=item.subject_id,
        locale=locale,
        title=item.title_uk if uk else item.title,
        body=item.body_uk if uk else item.body,
        created_at=item.created_at,
        read=read,
    )


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    """The public shape of a subscription (never its secret)."""
    return SubscriptionOut.model_validate(subscription, from_attributes=True)


def delivery_out(delivery: Delivery, attempts: list[DeliveryAttempt]) -> DeliveryOut:
    """The public shape of a delivery with its attempts."""
    return DeliveryOut.model_validate(
        {
            **delivery.model_dump(exclude={"body", "data", "claim_token", "leased_until"}),
            "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
            "attempts": [AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
        }
    )
