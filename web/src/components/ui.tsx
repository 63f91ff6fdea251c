// ui.tsx — small shared pieces: loading, empty and error states, the time-zone selector.
import type { ReactNode } from 'react';
import { browserTimezone, formatOffset, timezoneChoices } from '../lib/time';

export function Loading({ label = 'Loading…', height = 260 }: { label?: string; height?: number }) {
  return (
    <div className="state loading" style={{ minHeight: height }} role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children, height = 200 }: { title: string; children?: ReactNode; height?: number }) {
  return (
    <div className="state empty" style={{ minHeight: height }} data-testid="empty-state">
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: string; onRetry?: () => void }) {
  return (
    <div className="state error" role="alert">
      <strong>Something went wrong</strong>
      <div className="muted">{error}</div>
      {onRetry && <button className="btn" onClick={onRetry}>Try again</button>}
    </div>
  );
}

export function Unsupported({ what }: { what: string }) {
  return (
    <Empty title={`${what} are not available on this server yet`}>
      The running graphql-api does not expose this part of the API. The page will work once it does.
    </Empty>
  );
}

export function TimezoneSelect({ value, onChange, id }: { value: string; onChange: (tz: string) => void; id?: string }) {
  const now = Date.now();
  const choices = timezoneChoices(browserTimezone());
  if (!choices.includes(value)) choices.unshift(value);
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)} data-testid="timezone-select"
      aria-label="Time zone">
      {choices.map((tz) => (
        <option key={tz} value={tz}>{tz.replace(/_/g, ' ')} ({formatOffset(now, tz)})</option>
      ))}
    </select>
  );
}

export function LiveBadge({ status, error }: { status: 'connecting' | 'live' | 'unavailable'; error?: string | null }) {
  const text = status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Polling every 5 s';
  const title = status === 'unavailable' ? `subscription unavailable: ${error ?? 'unknown reason'}` : undefined;
  return (
    <span className={`badge live-${status}`} title={title} data-testid="live-status" data-status={status}>
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}
