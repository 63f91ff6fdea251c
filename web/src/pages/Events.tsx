// Events.tsx — what the tenant has sent: every event name (with its count over 30 days and when it
// was last seen) and the properties seen on its recent events (how often, which JSON types, how
// many distinct values, the most frequent ones), so users know what they can group and filter
// by. Admins define a metric from here (count/sum/avg/… of a property, grouped by properties).
// Below: the defined metrics, each with the recount of stored events that a definition starts
// (MetricDefinition.backfill, polled while it runs); admins rename or delete them (the same rules
// and messages as the CLI's, from lib/catalog). Times in the app's time zone.
import { Fragment, useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { ConfirmDialog, Empty, ErrorBox, Loading, Unsupported, ViewOnlyNote, errorInfo } from '../components/ui';
import { useChartables } from '../hooks/useChartables';
import { has } from '../lib/api';
import { describeBackfill, describeDefinition, type MetricBackfill } from '../lib/chartables';
import { formatExact, formatIso } from '../lib/format';
import { DEFINE_METRIC, DELETE_METRIC, EVENTS, METRIC_BACKFILLS, METRIC_DEFINITIONS, RENAME_METRIC, type EventInfo } from '../lib/queries';
import { linkTo } from '../lib/router';

export function EventsPage() {
  const { admin, timezone, tenant, caps } = useSession();
  const c = useChartables();
  const backfills = useBackfills(tenant, has(caps, 'MetricDefinition', 'backfill'));
  const [open, setOpen] = useState<string | null>(null);
  const [defining, setDefining] = useState<EventInfo | null>(null);
  const events = useMemo(() => [...c.events].sort((a, b) => (a.name < b.name ? -1 : 1)), [c.events]);
  const canRename = admin && has(caps, 'Mutation', 'renameMetric');
  const canDelete = admin && has(caps, 'Mutation', 'deleteMetric');
  const refetch = { refetchQueries: [{ query: METRIC_DEFINITIONS, variables: { tenant } }, { query: EVENTS, variables: { tenant } }] };
  const [renameMetric, renamingM] = useMutation(RENAME_METRIC, refetch);
  const [deleteMetric, deletingM] = useMutation(DELETE_METRIC, refetch);
  const [editing, setEditing] = useState<{ name: string; to: string } | null>(null);
  const [toDelete, setToDelete] = useState<string | null>(null);
  const [metricError, setMetricError] = useState<string | null>(null);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Events</h1>
          <p className="muted">Every event name sent to this tenant and the properties on it. Each event can be charted as a count;
            to sum, average or count distinct values of a property, or to group by properties over any range, define a metric.</p>
        </div>
      </header>
      {!admin && <ViewOnlyNote what="define metrics" />}
      {!c.eventsKnown ? <Unsupported what="Event listings" />
        : c.error ? <ErrorBox error={c.error} onRetry={c.refetch} />
        : c.loading ? <Loading height={160} />
        : events.length === 0 ? (
          <Empty title="No events in the last 30 days">
            Send some to <code>POST /ingest</code> (the demo key is in <code>.data/demo-key</code>), or load the sample with
            {' '}<code>analytics-admin seed --sample-days 30</code>.
          </Empty>
        ) : (
          <section className="card">
            <div className="table-wrap flat">
              <table className="data responsive" data-testid="events-table">
                <thead><tr><th>Event</th><th className="num">Last 30 days</th><th>Last seen ({timezone})</th><th>Properties</th><th /></tr></thead>
                <tbody>
                  {events.map((e) => (
                    <Fragment key={e.name}>
                      <tr data-testid="event-row" data-event={e.name}>
                        <td data-label="Event"><button className="link strong" onClick={() => setOpen(open === e.name ? null : e.name)}
                          aria-expanded={open === e.name} data-testid="event-toggle">{open === e.name ? '▾' : '▸'} {e.name}</button></td>
                        <td data-label="Last 30 days" className="num">{formatExact(e.count ?? 0)}</td>
                        <td data-label="Last seen">{formatIso(e.lastSeen, timezone)}</td>
                        <td data-label="Properties" className="wrap-cell">
                          <span className="chips">{(e.properties ?? []).map((p) => <code key={p.name} className="chip">{p.name}</code>)}</span></td>
                        <td data-label="" className="actions">
                          <a className="btn small-btn" href={`/charts?metric=${encodeURIComponent(e.name)}`}
                            onClick={linkTo(`/charts?metric=${encodeURIComponent(e.name)}`)}>Chart</a>
                          {admin && <button className="btn small-btn" onClick={() => setDefining(e)} data-testid="define-from-event">Define metric</button>}
                        </td>
                      </tr>
                      {open === e.name && (
                        <tr className="detail"><td data-label="" colSpan={5}><PropertyTable event={e} /></td></tr>
                      )}
                    </Fragment>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        )}
      {defining && <DefineMetric event={defining} onClose={() => setDefining(null)} onDefined={backfills.refetch} />}
      <section className="card" style={{ marginTop: 16 }}>
        <h2>Defined metrics</h2>
        {c.defs.length === 0 ? <p className="muted">None yet.</p> : (
          <div className="table-wrap flat">
            <table className="data responsive" data-testid="metrics-table">
              <thead><tr><th>Metric</th><th>What</th><th>Group by</th>{backfills.shown && <th>Recount of stored events</th>}
                {(canRename || canDelete) && <th />}</tr></thead>
              <tbody>
                {[...c.defs].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => (
                  <tr key={d.name} data-testid="metric-row" data-metric={d.name}>
                    <td data-label="Metric">
                      {editing?.name === d.name ? (
                        <form className="inline-form" style={{ marginBottom: 0 }} onSubmit={async (e) => {
                          e.preventDefault();
                          setMetricError(null);
                          try {
                            await renameMetric({ variables: { tenant, name: d.name, newName: editing.to.trim() } });
                            setEditing(null);
                          } catch (err) { setMetricError(errorInfo(err).message); }
                        }}>
                          <input value={editing.to} onChange={(e) => setEditing({ name: d.name, to: e.target.value })} maxLength={64}
                            aria-label={`New name of ${d.name}`} data-testid="metric-rename-input" autoFocus />
                          <button className="btn small-btn primary" disabled={!editing.to.trim() || editing.to.trim() === d.name || renamingM.loading}
                            data-testid="metric-rename-save">Save</button>
                          <button type="button" className="btn small-btn" onClick={() => { setEditing(null); setMetricError(null); }}>Cancel</button>
                        </form>
                      ) : <a href={`/charts?metric=${encodeURIComponent(d.name)}`} onClick={linkTo(`/charts?metric=${encodeURIComponent(d.name)}`)}>{d.name}</a>}
                    </td>
                    <td data-label="What">{describeDefinition(d)}</td>
                    <td data-label="Group by" className="wrap-cell">{d.dimensions.length ? d.dimensions.join(', ') : <span className="muted">—</span>}</td>
                    {backfills.shown && (
                      <td data-label="Recount" className="wrap-cell" data-testid="backfill-status" data-metric={d.name}
                        data-state={backfills.byName.get(d.name)?.state ?? 'none'}>
                        <span className={backfills.byName.get(d.name)?.state === 'failed' ? 'error-text' : 'muted'}>
                          {describeBackfill(backfills.byName.get(d.name)).text}</span>
                      </td>
                    )}
                    {(canRename || canDelete) && (
                      <td data-label="" className="actions">
                        {canRename && <button className="btn small-btn" onClick={() => { setMetricError(null); setEditing({ name: d.name, to: d.name }); }}
                          data-testid="metric-rename">Rename</button>}
                        {canDelete && <button className="btn small-btn danger-outline" onClick={() => { setMetricError(null); setToDelete(d.name); }}
                          data-testid="metric-delete">Delete</button>}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {metricError && <div className="error-text" role="alert" data-testid="metric-error">{metricError}</div>}
      </section>
      {toDelete && (
        <ConfirmDialog title={`Delete the metric “${toDelete}”?`} confirm="Delete metric" danger busy={deletingM.loading}
          onCancel={() => setToDelete(null)}
          onConfirm={async () => {
            try {
              await deleteMetric({ variables: { tenant, name: toDelete } });
            } catch (e) { setMetricError(errorInfo(e).message); }
            setToDelete(null);
          }}>
          <p>Its rollups are deleted (a count of the event of the same name keeps them: they are that event&apos;s count
            again). The events stay stored, and a definition made again recounts them. A metric an alert uses cannot be
            deleted: delete the alert first.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Each definition's recount of stored events; polled every 2 s while one is pending or running.
 *  no-cache: see METRIC_BACKFILLS. */
function useBackfills(tenant: string, supported: boolean) {
  const q = useQuery<{ metricDefinitions: { name: string; backfill: MetricBackfill | null }[] }>(METRIC_BACKFILLS,
    { variables: { tenant }, skip: !supported, fetchPolicy: 'no-cache' });
  const byName = useMemo(() => new Map((q.data?.metricDefinitions ?? []).filter((d) => d.backfill).map((d) => [d.name, d.backfill!])),
    [q.data]);
  const active = [...byName.values()].some((b) => describeBackfill(b).active);
  const { startPolling, stopPolling } = q;
  useEffect(() => {
    if (active) startPolling(2000);
    else stopPolling();
    return () => stopPolling();
  }, [active, startPolling, stopPolling]);
  return { shown: supported && !q.error, byName, refetch: () => { if (supported) q.refetch().catch(() => undefined); } };
}

function PropertyTable({ event }: { event: EventInfo }) {
  const props = event.properties ?? [];
  if (props.length === 0) {
    return <p className="muted small">No properties on its sampled events (the sample covers the last 7 days).</p>;
  }
  const sampled = props[0]?.sampled ?? 0;
  return (
    <div>
      <p className="muted small">From {formatExact(sampled)} sampled {event.name} event(s) of the last 7 days.</p>
      <table className="data inner" data-testid="property-table">
        <thead><tr><th>Property</th><th className="num">Seen on</th><th>Type</th><th className="num">Distinct</th><th>Most frequent</th></tr></thead>
        <tbody>
          {props.map((p) => (
            <tr key={p.name} data-testid="property-row" data-property={p.name}>
              <td><code>{p.name}</code></td>
              <td className="num">{sampled ? `${Math.round((p.seen / sampled) * 100)}%` : formatExact(p.seen)}</td>
              <td>{(p.types ?? []).join(', ')}</td>
              <td className="num">{formatExact(p.distinctValues ?? 0)}</td>
              <td className="wrap-cell">{(p.topValues ?? []).map((v, i) => <code key={i} className="chip">{v}</code>)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const AGGS = ['count', 'sum', 'avg', 'min', 'max', 'unique'] as const;

function DefineMetric({ event, onClose, onDefined }: { event: EventInfo; onClose: () => void; onDefined: () => void }) {
  const { tenant } = useSession();
  const props = (event.properties ?? []).map((p) => p.name);
  const numeric = (event.properties ?? []).filter((p) => (p.types ?? []).includes('number')).map((p) => p.name);
  const [agg, setAgg] = useState<(typeof AGGS)[number]>('count');
  const [prop, setProp] = useState('');
  const [dims, setDims] = useState<string[]>([]);
  const [name, setName] = useState('');
  const choices = agg === 'unique' ? props : numeric;
  const property = agg === 'count' ? null : prop || choices[0] || '';
  const suggested = `${event.name}${agg === 'count' ? '' : `_${agg}_${property}`}${dims.length ? `_by_${dims.join('_')}` : ''}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').slice(0, 64);
  const metricName = name.trim() || suggested;
  const [define, st] = useMutation(DEFINE_METRIC, {
    refetchQueries: [{ query: METRIC_DEFINITIONS, variables: { tenant } }, { query: EVENTS, variables: { tenant } }],
  });
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="card define" data-testid="define-metric" style={{ marginTop: 16 }}>
      <div className="card-head"><h2>Define a metric on <code>{event.name}</code></h2>
        <button className="btn small-btn" onClick={onClose}>Close</button></div>
      <form className="form" onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          await define({ variables: { tenant, input: { name: metricName, eventName: event.name, aggregation: agg, property, dimensions: dims } } });
          setDone(metricName);
          onDefined();
        } catch (err) { setError(errorInfo(err).message); }
      }}>
        <div className="row">
          <label>Aggregation
            <select value={agg} onChange={(e) => setAgg(e.target.value as (typeof AGGS)[number])} data-testid="define-aggregation">
              {AGGS.map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
          </label>
          {agg !== 'count' && (
            <label>Of property
              <select value={property ?? ''} onChange={(e) => setProp(e.target.value)} data-testid="define-property">
                {choices.length === 0 && <option value="">(no {agg === 'unique' ? '' : 'numeric '}property seen)</option>}
                {choices.map((p) => <option key={p} value={p}>{p}</option>)}
              </select>
            </label>
          )}
        </div>
        <fieldset>
          <legend>Group by (at most 8)</legend>
          {props.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" checked={dims.includes(p)} disabled={!dims.includes(p) && dims.length >= 8}
                onChange={() => setDims(dims.includes(p) ? dims.filter((d) => d !== p) : [...dims, p])} data-testid={`define-dim-${p}`} /> {p}
            </label>
          ))}
        </fieldset>
        <label>Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder={suggested} maxLength={64} data-testid="define-name" />
        </label>
        <p className="muted small">It counts new events as they arrive, and the events already stored (raw events, kept 30 days by default)
          are recounted in the background, one day at a time: the progress shows under Defined metrics.</p>
        <button className="btn primary" disabled={st.loading || (agg !== 'count' && !property)} data-testid="define-submit">Define {metricName}</button>
        {error && <div className="error-text" role="alert">{error}</div>}
        {done && <p className="ok-text">Defined {done}. <a href={`/charts?metric=${encodeURIComponent(done)}`} onClick={linkTo(`/charts?metric=${encodeURIComponent(done)}`)}>Chart it</a></p>}
      </form>
    </section>
  );
}
