/*
 * sdkjs.h — GET /sdk.js: the browser tracker (sdk/sdk.js, embedded at build time by sdk/embed.c)
 * served from memory with an ETag and cache headers. Two names: /sdk.js (revalidated every
 * 5 minutes, so a new version spreads quickly) and /sdk/<version>/sdk.js (immutable, cached for a
 * year: pin it when you want one exact script). Not for: anything the tracker sends (handler.c).
 */
#ifndef INGEST_SDKJS_H
#define INGEST_SDKJS_H

#include "ea_http.h"

/* Registers /sdk.js and /sdk/ on s. */
void ingest_sdkjs_register(ea_http_server *s);

#endif
