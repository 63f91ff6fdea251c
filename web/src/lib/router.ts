// router.ts — the dashboard's routing on the history API (graphql-api serves index.html for every
// unknown path): the current path and query, navigation, and query-string state that pages keep
// in the URL (shareable, survives a reload). replace=true rewrites the current history entry, so
// every keystroke in a form does not add a Back step.
import { useCallback, useEffect, useState } from 'react';

const EVENT = 'ea:location';

function current() {
  return { path: location.pathname, search: location.search };
}

export function useLocation(): { path: string; search: string } {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const on = () => setLoc(current());
    addEventListener('popstate', on);
    addEventListener(EVENT, on);
    return () => {
      removeEventListener('popstate', on);
      removeEventListener(EVENT, on);
    };
  }, []);
  return loc;
}

/** Goes to `to` (a path with an optional ?query). */
export function navigate(to: string, { replace = false, keepScroll = false } = {}) {
  if (to !== location.pathname + location.search) {
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
  }
  dispatchEvent(new Event(EVENT));
  if (!keepScroll) scrollTo(0, 0);
}

/** The query string as an object, and a setter that merges a patch into it (null deletes). */
export function useSearchParams(): [URLSearchParams, (patch: Record<string, string | null>, replace?: boolean) => void] {
  const { search } = useLocation();
  const set = useCallback((patch: Record<string, string | null>, replace = true) => {
    const p = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === '') p.delete(k);
      else p.set(k, v);
    }
    const q = p.toString();
    navigate(`${location.pathname}${q ? `?${q}` : ''}`, { replace, keepScroll: true });
  }, []);
  return [new URLSearchParams(search), set];
}

/** An <a> click handler that navigates in the app (ctrl/cmd-click still opens a new tab). */
export function linkTo(to: string) {
  return (e: React.MouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(to);
  };
}
