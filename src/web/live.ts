// The server's event stream (`GET /api/events`, Server-Sent Events). EventSource cannot send headers,
// so a signed-in user's token rides as `access_token` (the server accepts it for this route). The
// browser reconnects by itself, resuming with Last-Event-ID.
import { getToken } from './api.ts';

export interface LiveEvent {
  id: number;
  kind: string;
  time: string;
  payload: Record<string, unknown>;
}

/** Listens to the given kinds (optionally of one collection); returns the function that stops. */
export function subscribe(
  kinds: string[],
  on: (e: LiveEvent) => void,
  opts: { collection?: string; onOpen?: () => void } = {},
): () => void {
  if (typeof EventSource === 'undefined') return () => {};
  const q = new URLSearchParams({ kinds: kinds.join(',') });
  if (opts.collection) q.set('collection', opts.collection);
  const token = getToken();
  if (token) q.set('access_token', token);
  const es = new EventSource(`/api/events?${q}`);
  for (const kind of kinds)
    es.addEventListener(kind, (m) => {
      try {
        on(JSON.parse((m as MessageEvent<string>).data) as LiveEvent);
      } catch {
        // a malformed message: ignore it
      }
    });
  if (opts.onOpen) es.addEventListener('open', opts.onOpen);
  return () => es.close();
}
