// Settings.tsx — for admins of the tenant: API keys (list with scopes, created, last used; create —
// the key is shown once, with a copy button; revoke, asked first) and members (who may sign in to
// this tenant, with which role). Viewers get a note: the server refuses these to them anyway.
import { useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { ConfirmDialog, CopyButton, Empty, ErrorBox, Loading, Unsupported, ViewOnlyNote, errorInfo } from '../components/ui';
import { has } from '../lib/api';
import { formatExact, formatIso } from '../lib/format';
import { linkTo } from '../lib/router';
import { API_KEYS, API_KEYS_BASIC, CREATE_API_KEY, MEMBERS, REVOKE_API_KEY, type ApiKey, type Member } from '../lib/queries';

export function SettingsPage({ path }: { path: string }) {
  const { admin } = useSession();
  const tab = path.startsWith('/settings/members') ? 'members' : 'keys';
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Settings</h1>
          <p className="muted">Who and what may use this tenant.</p>
        </div>
      </header>
      <div className="tabs" role="tablist">
        <a role="tab" aria-selected={tab === 'keys'} className={tab === 'keys' ? 'on' : ''} href="/settings/keys"
          onClick={linkTo('/settings/keys')} data-testid="tab-keys">API keys</a>
        <a role="tab" aria-selected={tab === 'members'} className={tab === 'members' ? 'on' : ''} href="/settings/members"
          onClick={linkTo('/settings/members')} data-testid="tab-members">Members</a>
      </div>
      {!admin ? <ViewOnlyNote what="see or change keys and members (admins only)" />
        : tab === 'keys' ? <ApiKeys /> : <Members />}
    </div>
  );
}

const SCOPES = ['ingest', 'read', 'admin'] as const;

function ApiKeys() {
  const { tenant, caps, timezone } = useSession();
  const withLastUsed = has(caps, 'ApiKey', 'lastUsedAt');
  const q = useQuery<{ apiKeys: ApiKey[] }>(withLastUsed ? API_KEYS : API_KEYS_BASIC, { variables: { tenant }, skip: !has(caps, 'Query', 'apiKeys') });
  const [create, cst] = useMutation<{ createApiKey: { key: string; apiKey: ApiKey } }>(CREATE_API_KEY);
  const [revoke, rst] = useMutation(REVOKE_API_KEY);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['ingest']);
  const [rate, setRate] = useState('');
  const [created, setCreated] = useState<{ key: string; apiKey: ApiKey } | null>(null);
  const [confirm, setConfirm] = useState<ApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  if (!has(caps, 'Query', 'apiKeys')) return <Unsupported what="API key listings" />;
  const keys = q.data?.apiKeys ?? [];
  const shown = keys.filter((k) => showRevoked || !k.revokedAt);
  const rateN = rate.trim() ? Number(rate) : null;
  const rateOk = rateN === null || (Number.isInteger(rateN) && rateN >= 1);

  return (
    <div className="stack">
      <section className="card">
        <h2>New API key</h2>
        <form className="form" onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const r = await create({ variables: { tenant, scopes, name: name.trim() || null, rateLimit: rateN } });
            if (r.data) setCreated(r.data.createApiKey);
            setName('');
            q.refetch();
          } catch (err) { setError(errorInfo(err).message); }
        }}>
          <div className="row">
            <label>Name<input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} placeholder="e.g. website"
              data-testid="key-name" /></label>
            <label>Rate limit (requests/min)<input type="number" min={1} step={1} value={rate} onChange={(e) => setRate(e.target.value)}
              placeholder="default" data-testid="key-rate" /></label>
          </div>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s} className="check">
                <input type="checkbox" checked={scopes.includes(s)} data-testid={`key-scope-${s}`}
                  onChange={() => setScopes(scopes.includes(s) ? scopes.filter((x) => x !== s) : [...scopes, s])} /> {s}
              </label>
            ))}
          </fieldset>
          <p className="muted small">ingest: send events · read: query metrics · admin: change dashboards, alerts, keys.</p>
          <button className="btn primary" disabled={!scopes.length || !rateOk || cst.loading} data-testid="create-key">
            {cst.loading ? 'Creating…' : 'Create key'}</button>
          {error && <div className="error-text" role="alert">{error}</div>}
        </form>
        {created && (
          <div className="secret" data-testid="new-key">
            <p><strong>Key {created.apiKey.keyId}{created.apiKey.name ? ` (${created.apiKey.name})` : ''}</strong> — copy it now: it is shown
              only this once; only a hash of it is stored.</p>
            <div className="row-gap"><code className="secret-value" data-testid="new-key-value">{created.key}</code>
              <CopyButton text={created.key} testId="copy-key" /></div>
            <button className="link" onClick={() => setCreated(null)}>I have stored it</button>
          </div>
        )}
      </section>
      <section className="card">
        <div className="card-head">
          <h2>API keys</h2>
          <label className="check small"><input type="checkbox" checked={showRevoked} onChange={() => setShowRevoked(!showRevoked)}
            data-testid="show-revoked" /> show revoked</label>
        </div>
        {q.error ? <ErrorBox error={q.error.message} onRetry={() => q.refetch()} />
          : q.loading && !q.data ? <Loading height={100} />
          : shown.length === 0 ? <Empty title="No keys" height={80} />
          : (
            <div className="table-wrap flat">
              <table className="data responsive" data-testid="keys-table">
                <thead><tr><th>Key id</th><th>Name</th><th>Scopes</th><th className="num">Rate/min</th><th>Created ({timezone})</th>
                  {withLastUsed && <th>Last used</th>}<th>State</th><th /></tr></thead>
                <tbody>
                  {shown.map((k) => (
                    <tr key={k.keyId} data-testid="key-row" data-key-id={k.keyId}>
                      <td data-label="Key id"><code>{k.keyId}</code></td>
                      <td data-label="Name">{k.name ?? <span className="muted">—</span>}</td>
                      <td data-label="Scopes">{k.scopes.join(', ')}</td>
                      <td data-label="Rate/min" className="num">{k.rateLimit ? formatExact(k.rateLimit) : <span className="muted">default</span>}</td>
                      <td data-label="Created">{formatIso(k.createdAt, timezone)}</td>
                      {withLastUsed && <td data-label="Last used">{k.lastUsedAt ? formatIso(k.lastUsedAt, timezone) : <span className="muted">never</span>}</td>}
                      <td data-label="State">{k.revokedAt ? <span className="badge bad" title={formatIso(k.revokedAt, timezone)}>revoked</span> : <span className="badge ok">active</span>}</td>
                      <td data-label="" className="actions">{!k.revokedAt && (
                        <button className="btn small-btn danger-outline" onClick={() => setConfirm(k)} data-testid="revoke-key">Revoke</button>
                      )}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </section>
      {confirm && (
        <ConfirmDialog title={`Revoke key ${confirm.keyId}${confirm.name ? ` (${confirm.name})` : ''}?`} confirm="Revoke" danger busy={rst.loading}
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            setError(null);
            try { await revoke({ variables: { tenant, keyId: confirm.keyId } }); q.refetch(); } catch (e) { setError(errorInfo(e).message); }
            setConfirm(null);
          }}>
          <p>Requests with it fail within a minute (the services cache verified keys briefly). This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function Members() {
  const { tenant, caps, timezone } = useSession();
  const q = useQuery<{ members: Member[] }>(MEMBERS, { variables: { tenant }, skip: !has(caps, 'Query', 'members') });
  if (!has(caps, 'Query', 'members')) return <Unsupported what="Member listings" />;
  const list = q.data?.members ?? [];
  return (
    <section className="card">
      <h2>Members</h2>
      <p className="muted small">People who sign in (OIDC) and may use this tenant. Grant or change access with
        {' '}<code>analytics-admin member add --tenant {tenant} --issuer … --subject … --role viewer|admin</code>.</p>
      {q.error ? <ErrorBox error={q.error.message} onRetry={() => q.refetch()} />
        : q.loading && !q.data ? <Loading height={100} />
        : list.length === 0 ? <Empty title="No members" height={80}>Only API keys use this tenant.</Empty>
        : (
          <div className="table-wrap flat">
            <table className="data responsive" data-testid="members-table">
              <thead><tr><th>Who</th><th>Role</th><th>Issuer</th><th>Member since ({timezone})</th><th>Last sign-in</th></tr></thead>
              <tbody>
                {list.map((m) => (
                  <tr key={`${m.issuer} ${m.subject}`} data-testid="member-row">
                    <td data-label="Who">{m.name || m.subject}{m.email && <div className="muted small">{m.email}</div>}</td>
                    <td data-label="Role"><span className={`badge ${m.role === 'admin' ? 'ok' : ''}`}>{m.role}</span></td>
                    <td data-label="Issuer" className="wrap-cell small">{m.issuer}</td>
                    <td data-label="Since">{formatIso(m.createdAt, timezone)}</td>
                    <td data-label="Last sign-in">{m.lastLoginAt ? formatIso(m.lastLoginAt, timezone) : <span className="muted">never</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}
