// ui.tsx — small shared pieces: loading, empty and error states, the time-zone selector, the
// "view only" note, a copy button, a confirmation dialog, the live badge.
import { useEffect, useRef, useState, type ReactNode } from 'react';
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

export function ErrorBox({ error, onRetry, title = 'Something went wrong' }: { error: string; onRetry?: () => void; title?: string }) {
  return (
    <div className="state error" role="alert" data-testid="error-box">
      <strong>{title}</strong>
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

/** Shown to viewers on every page with something to change: they see the data, not the forms. */
export function ViewOnlyNote({ what = 'change anything here' }: { what?: string }) {
  return (
    <div className="view-only" role="note" data-testid="view-only">
      <strong>View only.</strong> Your role in this tenant is viewer: you can look at everything but not {what}.
      An admin can make you admin (<code>analytics-admin member add … --role admin</code>).
    </div>
  );
}

export function TimezoneSelect({ value, onChange, id, testId = 'timezone-select' }: {
  value: string; onChange: (tz: string) => void; id?: string; testId?: string;
}) {
  const now = Date.now();
  const choices = timezoneChoices(browserTimezone());
  if (!choices.includes(value)) choices.unshift(value);
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}
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

/** Copies `text` to the clipboard; says so for two seconds. Falls back to selecting the text
 *  when the clipboard API is not available (plain http on another host than localhost). */
export function CopyButton({ text, label = 'Copy', testId }: { text: string; label?: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button type="button" className="btn" data-testid={testId} onClick={async () => {
      try {
        await navigator.clipboard.writeText(text);
        setState('copied');
      } catch {
        setState('failed');
      }
    }}>{state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy it' : label}</button>
  );
}

/** A modal question with a confirm and a cancel button (Escape cancels). */
export function ConfirmDialog({ title, children, confirm, danger, onConfirm, onCancel, busy, extra }: {
  title: string; children?: ReactNode; confirm: string; danger?: boolean; busy?: boolean;
  onConfirm: () => void; onCancel: () => void; extra?: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>('button[data-autofocus]')?.focus();
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') onCancel(); };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [onCancel]);
  return (
    <div className="modal-backdrop" onClick={onCancel}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref={ref}
        onClick={(e) => e.stopPropagation()} data-testid="confirm-dialog">
        <h2 id="dialog-title">{title}</h2>
        {children && <div className="modal-body">{children}</div>}
        <div className="modal-actions">
          <button className="btn" onClick={onCancel} data-testid="confirm-cancel">Cancel</button>
          {extra}
          <button className={`btn ${danger ? 'danger' : 'primary'}`} onClick={onConfirm} disabled={busy}
            data-autofocus data-testid="confirm-ok">{busy ? 'Working…' : confirm}</button>
        </div>
      </div>
    </div>
  );
}

/** The message of an Apollo/GraphQL error and its extensions.code. */
/** Error codes a retry of the same request cannot fix: the request itself has to change. */
export const NOT_RETRYABLE = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'COST_LIMIT', 'FORBIDDEN', 'GRAPHQL_VALIDATION_FAILED']);

export function errorInfo(e: unknown): { message: string; code?: string } {
  const any = e as { errors?: { message: string; extensions?: { code?: string } }[]; graphQLErrors?: { message: string; extensions?: { code?: string } }[]; message?: string };
  const g = any?.errors?.[0] ?? any?.graphQLErrors?.[0];
  if (g) return { message: g.message, code: g.extensions?.code };
  return { message: any?.message ?? String(e) };
}
