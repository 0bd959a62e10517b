"""Email digests: what each subscriber gets, rendered once, sent exactly once per period.

One module per stage:

- ``periods.py``   daily (``2026-11-23``) and weekly (``2026-W48``) periods and the days they cover
- ``tokens.py``    signed confirm / unsubscribe / preferences links (itsdangerous, one salt each)
- ``content.py``   the sections: shared ones (trending, daily list) once per run, per-user ones
                   (saved searches, recommendations), minus what the subscriber already got
- ``compose.py``   Jinja2 templates (``templates/``) to a multipart text + HTML message
- ``smtp.py``      any SMTP server (plain, STARTTLS, TLS, AUTH), failures sorted by meaning
- ``delivery.py``  the run: claim, send, record in the delivery log; the exact guarantee
- ``claims.py``    who holds a claim (run owners, liveness) and when a failed send is retried
- ``sharding.py``  ``send_digests``: one run here, or shards across worker processes
- ``faults.py``    the crash hook the crash-recovery tests inject
- ``scheduler.py`` the optional in-process scheduler of ``papersift serve``
- ``preview.py``   one subscriber's digest without sending (``papersift digest preview``)

Subscribing, confirming and unsubscribing are in papersift.service.subscriptions.

The guarantee (details in papersift.mail.delivery): each subscriber gets at most one digest per
period and every subscriber due gets one once a run completes, except that a crash between the
SMTP server's acceptance of a message and the commit that records it makes the next run send
that one message again, with the same Message-ID.
"""
