/*
 * pstate.h — what the worker knows about one assigned partition. The consumer owns the array;
 * the committer works on a copy while a batch is in flight (committer.c copies the outcome
 * back); the sink's fence and the closer's idle watermarks read and update it.
 */
#ifndef WK_PSTATE_H
#define WK_PSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most partitions of the topic one worker tracks (consumer and committer state arrays). */
#define WK_MAX_PARTITIONS 1024

typedef struct wk_pstate {
    int32_t partition;
    int64_t generation;  /* ours, from the claim; the fence of every commit */
    int64_t next_offset; /* committed: first offset not yet in PostgreSQL */
    int64_t high_ms;     /* highest event time committed (watermark + allowed lateness);
                            INT64_MIN when none */
    bool fenced;         /* another consumer claimed it after us */
    int64_t reclaim_at_ms;
    bool eof;            /* consumer reached the end of the partition */
    int64_t broker_high; /* broker high watermark (lag), -1 unknown */
} wk_pstate;

/* The state of partition in st[0..nst), or NULL when it is not assigned. */
static inline wk_pstate *wk_pstate_find(wk_pstate *st, size_t nst, int32_t partition)
{
    for (size_t i = 0; i < nst; i++)
        if (st[i].partition == partition)
            return &st[i];
    return NULL;
}

#endif
