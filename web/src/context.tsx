// context.tsx — what every page needs: the selected tenant, the credentials, the subscription
// client and what the server supports.
import { createContext, useContext } from 'react';
import type { Client } from 'graphql-ws';
import type { Capabilities, Me } from './lib/api';

export interface Session {
  me: Me;
  tenant: string;
  apiKey: string | null;
  caps: Capabilities;
  ws: Client;
  navigate: (path: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionContext');
  return s;
}
