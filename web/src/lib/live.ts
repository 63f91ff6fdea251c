// live.ts — a React hook over a graphql-ws subscription that says honestly how live it is:
// 'live' once the server accepted the subscription, 'unavailable' when it refused or the socket
// failed (the caller then polls), 'connecting' before either.
import { useEffect, useRef, useState } from 'react';
import type { Client } from 'graphql-ws';

export type LiveStatus = 'connecting' | 'live' | 'unavailable';

// Whether each client's socket is currently acknowledged (graphql-ws emits the events once per
// socket, so a subscription started on an open socket must know it already happened).
const sockets = new WeakMap<Client, { connected: boolean }>();
function track(ws: Client) {
  let s = sockets.get(ws);
  if (!s) {
    const state = { connected: false };
    ws.on('connected', () => { state.connected = true; });
    ws.on('closed', () => { state.connected = false; });
    sockets.set(ws, state);
    s = state;
  }
  return s;
}

export function useLiveSubscription<T>(
  ws: Client,
  query: string,
  variables: Record<string, unknown> | null,
  onData: (data: T) => void,
): { status: LiveStatus; error: string | null } {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [error, setError] = useState<string | null>(null);
  const cb = useRef(onData);
  cb.current = onData;
  const varsKey = JSON.stringify(variables);

  useEffect(() => {
    if (variables === null) return;
    let done = false;
    setStatus('connecting');
    setError(null);
    // graphql-ws has no "subscribed" event: the socket being acknowledged and no error within a
    // moment of subscribing is what "live" means here; the first message confirms it.
    const sock = track(ws);
    const markLive = () => setTimeout(() => { if (!done) setStatus((s) => (s === 'connecting' ? 'live' : s)); }, 300);
    const offConnected = ws.on('connected', markLive);
    if (sock.connected) markLive();
    const unsubscribe = ws.subscribe<T>(
      { query, variables },
      {
        next: (msg) => {
          if (msg.errors?.length) {
            setError(msg.errors[0].message);
            setStatus('unavailable');
            return;
          }
          setStatus('live');
          if (msg.data) cb.current(msg.data as T);
        },
        error: (e) => {
          done = true;
          const m = Array.isArray(e) ? e[0]?.message : e instanceof Error ? e.message
            : (e as CloseEvent)?.reason || `connection closed (${(e as CloseEvent)?.code ?? '?'})`;
          setError(m || 'subscription failed');
          setStatus('unavailable');
        },
        complete: () => { done = true; },
      },
    );
    return () => {
      done = true;
      offConnected();
      unsubscribe();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ws, query, varsKey]);

  return { status, error };
}
