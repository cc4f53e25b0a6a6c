"""Django's PostgreSQL backend with a health check that costs no round trip.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django asks the server
`SELECT 1` before the first query of every request, so a connection the server closed meanwhile
(a restart, an idle timeout, pg_terminate_backend) is replaced instead of failing the request.
That question is a whole round trip, as long as the query the page came for on the site's
quickest pages (tests/bench/bench_site.py).

A server that closes a connection first sends an error message and then ends the stream, so
the socket of a closed connection has something to read, while an idle, healthy one has
nothing: no client request is outstanding between two requests. A socket with nothing to read
is healthy; one with something to read gets Django's full check (`SELECT 1`), which reads
whatever arrived (an asynchronous notice, say) and answers for sure.

What this cannot see, Django's check would only have seen after the TCP timeout too: a peer
that vanished without closing the connection.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError, base.Database.Error):
            return False
        return not readable or super().is_usable()
