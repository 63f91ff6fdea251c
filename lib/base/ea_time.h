/*
 * ea_time.h — event time handling: parse ISO-8601 and epoch timestamps, format RFC 3339,
 * truncate to hourly and daily (UTC) buckets. All times are int64 milliseconds since the Unix
 * epoch, UTC. Time-zone bucketing for queries lives in the worker/graphql modules, not here.
 */
#ifndef EA_TIME_H
#define EA_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EA_MS_PER_HOUR INT64_C(3600000)
#define EA_MS_PER_DAY INT64_C(86400000)

/* Wall clock now, in ms since the epoch. */
int64_t ea_time_now_ms(void);

/* Monotonic clock in nanoseconds, for latency measurement. */
int64_t ea_time_mono_ns(void);

/* Sleeps at least ms milliseconds (resumed after a signal), for retry back-offs on threads that
 * have nothing else to wait for; a thread that must stop promptly naps on an ea_stop instead
 * (ea_thread.h). */
void ea_time_sleep_ms(long ms);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]" (also ' ' for 'T', lowercase t/z) into ms UTC.
 * A missing offset means UTC. Returns false on any syntax or range error. */
bool ea_time_parse_iso8601(const char *s, size_t len, int64_t *out_ms);

/* Interprets a JSON number as epoch time: |v| < 1e11 is seconds (until year 5138), otherwise
 * milliseconds. Fractions are kept to the millisecond. False for NaN/inf or out of range. */
bool ea_time_from_epoch_number(double v, int64_t *out_ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with NUL for years 0..9999) into buf; returns buf. */
char *ea_time_format_iso8601(int64_t ms, char buf[48]);

/* Floors ms to the start of its UTC hour / UTC day (correct for negative times too). */
int64_t ea_time_floor_hour(int64_t ms);
int64_t ea_time_floor_day(int64_t ms);

/* Days since 1970-01-01 for a proleptic Gregorian civil date (Howard Hinnant's algorithm). */
int64_t ea_time_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
