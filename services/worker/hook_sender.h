/*
 * hook_sender.h — alert webhook delivery (SPEC §8): a thread of its own that polls PostgreSQL for
 * firings whose delivery is due (alert_events.delivery = 'pending'), POSTs each to its alert's
 * webhook_url with an HMAC signature, and records the outcome per firing (delivered, retried
 * with backoff, failed after WEBHOOK_RETRY_FOR_S). Never on the consumer's or HTTP's thread: DNS
 * and outbound HTTP block. Not for deciding what fires (the closer in sink.c inserts firings).
 */
#ifndef WK_HOOK_SENDER_H
#define WK_HOOK_SENDER_H

#include "ea_err.h"
#include "stats.h"
#include "worker_config.h"

typedef struct wk_hook_sender wk_hook_sender;

/* Starts the delivery thread (it connects to cfg->database_url itself). NULL with err set when
 * the thread cannot start. cfg and stats must outlive it. */
wk_hook_sender *wk_hook_sender_start(const wk_config *cfg, wk_stats *stats, struct ea_err *err);

/* Stops the thread (an attempt in flight finishes, bounded by WEBHOOK_TIMEOUT_MS) and frees it.
 * NULL is a no-op. */
void wk_hook_sender_stop(wk_hook_sender *h);

#endif
