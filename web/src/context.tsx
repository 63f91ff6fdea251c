// context.tsx — what every page needs: the selected tenant, the credentials, whether the caller
// may change things there, the time zone every time is shown in, the subscription client and
// what the server supports.
import { createContext, useContext } from 'react';
import type { Client } from 'graphql-ws';
import type { Capabilities, Me } from './lib/api';

export interface Session {
  me: Me;
  tenant: string;
  apiKey: string | null;
  caps: Capabilities;
  ws: Client;
  navigate: (to: string) => void;
  /** admin of this tenant (role admin, or a key with the admin scope): edit controls shown */
  admin: boolean;
  /** the zone every time on every page is shown in (charts may carry their own) */
  timezone: string;
  setTimezone: (tz: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionContext');
  return s;
}
