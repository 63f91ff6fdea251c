// pickers.tsx — the metric selector (the one sorted, labelled list of what can be charted) and the
// time-range picker (relative ranges, or absolute dates in the chart's zone).
import { useEffect, useState } from 'react';
import type { Chartable } from '../lib/chartables';
import { RELATIVE, rangeError, rangeLabel, type RelativeKey, type TimeRange } from '../lib/range';
import { formatDate } from '../lib/format';

export function MetricSelect({ list, value, onChange, testId = 'metric-select', disabled }: {
  list: Chartable[]; value: string; onChange: (name: string) => void; testId?: string; disabled?: boolean;
}) {
  const known = list.some((c) => c.name === value);
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId} disabled={disabled || !list.length}>
      {!list.length && <option value="">—</option>}
      {value && !known && <option value={value}>{value} — not seen yet</option>}
      {list.map((c) => <option key={c.name} value={c.name}>{c.label}</option>)}
    </select>
  );
}

/** Relative ranges in a select; "Dates…" opens two date fields (YYYY-MM-DD, whole days in
 *  `timezone`, the last one included). With
 *  `savedLabel`, null is a value too ("as saved": each chart keeps its own range). */
export function TimeRangePicker({ value, onChange, timezone, testId = 'range', savedLabel }: {
  value: TimeRange | null; onChange: (r: TimeRange | null) => void; timezone: string; testId?: string; savedLabel?: string;
}) {
  const absolute = value !== null && !('last' in value);
  const [custom, setCustom] = useState(absolute);
  const today = formatDate(Date.now(), timezone);
  const [from, setFrom] = useState(absolute ? value.from : formatDate(Date.now() - 6 * 86_400_000, timezone));
  const [to, setTo] = useState(absolute ? value.to : today);
  useEffect(() => {
    if (value !== null && !('last' in value)) { setFrom(value.from); setTo(value.to); setCustom(true); }
  }, [value]);
  const draft: TimeRange = { from, to };
  const err = custom ? rangeError(draft) : null;
  return (
    <div className="range-picker" data-testid={testId}>
      <select value={custom ? 'custom' : value === null ? '' : (value as { last: RelativeKey }).last}
        aria-label="Time range" data-testid={`${testId}-select`}
        onChange={(e) => {
          if (e.target.value === 'custom') { setCustom(true); return; }
          setCustom(false);
          onChange(e.target.value === '' ? null : { last: e.target.value as RelativeKey });
        }}>
        {savedLabel && <option value="">{savedLabel}</option>}
        {RELATIVE.map((r) => <option key={r.key} value={r.key}>{r.label}</option>)}
        <option value="custom">Dates…</option>
      </select>
      {custom && (
        <form className="range-dates" onSubmit={(e) => { e.preventDefault(); if (!err) onChange(draft); }}>
          {/* text, not type=date: the browser would show its locale's format (12/04/2026), and
              every date in the dashboard reads YYYY-MM-DD */}
          <input type="text" inputMode="numeric" placeholder="YYYY-MM-DD" maxLength={10} value={from}
            onChange={(e) => setFrom(e.target.value.trim())} aria-label="From (first day, YYYY-MM-DD)" data-testid={`${testId}-from`} />
          <span aria-hidden="true">–</span>
          <input type="text" inputMode="numeric" placeholder="YYYY-MM-DD" maxLength={10} value={to}
            onChange={(e) => setTo(e.target.value.trim())} aria-label="To (last day included, YYYY-MM-DD)" data-testid={`${testId}-to`} />
          <button className="btn" disabled={!!err || (absolute && value !== null && 'from' in value && value.from === from && value.to === to)}
            data-testid={`${testId}-apply`}>Apply</button>
          {err && <span className="error-text small" role="alert">{err}</span>}
        </form>
      )}
      {absolute && !custom && value && <span className="muted small">{rangeLabel(value)}</span>}
    </div>
  );
}
