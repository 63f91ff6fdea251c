// backfill.test.ts — what the Events page says about a definition's recount of stored events
// (describeBackfill): every state, exact event counts, and which states keep the page polling.
import { describe, expect, it } from 'vitest';
import { describeBackfill } from './chartables';

const b = (state: string, extra: Partial<Parameters<typeof describeBackfill>[0] & object> = {}) =>
  ({ state, progress: 0, daysDone: 0, daysTotal: 30, events: 0, error: null, ...extra });

describe('describeBackfill', () => {
  it('says how far the recount is, with exact counts, and polls only while it moves', () => {
    expect(describeBackfill(b('pending'))).toEqual({ text: 'waiting to start', active: true });
    expect(describeBackfill(b('running', { progress: 0.4, daysDone: 12, events: 12345 })))
      .toEqual({ text: 'recounting: 12 of 30 days (40%), 12,345 events read', active: true });
    expect(describeBackfill(b('done', { progress: 1, daysDone: 30, events: 274 })))
      .toEqual({ text: 'done: 30 days, 274 events read', active: false });
    expect(describeBackfill(b('done', { progress: 1, daysDone: 30, events: 1 })).text).toBe('done: 30 days, 1 event read');
  });
  it('names failures and the states without a recount', () => {
    expect(describeBackfill(b('failed', { error: 'raw_events partition missing' })))
      .toEqual({ text: 'failed: raw_events partition missing', active: false });
    expect(describeBackfill(b('superseded')).text).toBe('replaced by a newer change');
    expect(describeBackfill(null)).toEqual({ text: '—', active: false });
  });
});
