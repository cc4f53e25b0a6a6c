"""Who is signed in, without a database query on every request.

Django's ModelBackend loads the user from the database on each request. Here the user is kept
in the shared cache and dropped from it whenever the row is saved or deleted (a password change,
a deactivation in the admin, a deletion), in whichever process that happens. A change made
without signals (`QuerySet.update()`, raw SQL) shows after USER_CACHE_SECONDS at the latest.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

USER_CACHE_SECONDS = 300


def _key(user_id) -> str:
    return f"inspire:user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        key = _key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)  # None for a deleted or inactive user
            if user is None:
                return None
            cache.set(key, user, USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="inspire-user-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="inspire-user-deleted")
def _forget_user(sender, instance, **kwargs) -> None:
    cache.delete(_key(instance.pk))
