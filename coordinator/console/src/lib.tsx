import { useCallback, useEffect, useRef, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { get } from './api';
import type { FederationEvent } from './types';

// ---- routing (history API; the coordinator answers every non-API path with index.html) ----

const listeners = new Set<() => void>();
export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, '', to);
  listeners.forEach((l) => l());
}
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}

// ---- data ----

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null: nothing yet) and keeps the last good answer while reloading. */
export function useGet<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: !!path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: Error) => live && setState((s) => ({ data: s.data, error: e.message, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

// ---- live federation events (server-sent events from /api/events) ----

export type LiveState = 'connecting' | 'live' | 'offline';
type EventListener_ = (e: FederationEvent) => void;
const eventListeners = new Set<EventListener_>();
const stateListeners = new Set<(s: LiveState) => void>();
let source: EventSource | null = null;
let liveState: LiveState = 'offline';

function setLive(s: LiveState) {
  liveState = s;
  stateListeners.forEach((l) => l(s));
}

export function connectEvents(): void {
  if (source) return;
  setLive('connecting');
  source = new EventSource('/api/events', { withCredentials: true });
  source.onopen = () => setLive('live');
  source.onerror = () => setLive(source?.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
  for (const type of ['progress', 'round', 'step'] as const) {
    source.addEventListener(type, (m) => {
      try {
        const e = JSON.parse((m as MessageEvent<string>).data) as FederationEvent;
        eventListeners.forEach((l) => l(e));
      } catch {
        /* a malformed event is dropped */
      }
    });
  }
}
export function disconnectEvents(): void {
  source?.close();
  source = null;
  setLive('offline');
}

/** Calls `fn` for every federation event while the component is mounted. */
export function useFederationEvents(fn: EventListener_): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l: EventListener_ = (e) => ref.current(e);
    eventListeners.add(l);
    return () => {
      eventListeners.delete(l);
    };
  }, []);
}
export function useLiveState(): LiveState {
  const [s, setS] = useState(liveState);
  useEffect(() => {
    stateListeners.add(setS);
    setS(liveState);
    return () => {
      stateListeners.delete(setS);
    };
  }, []);
  return s;
}

// ---- formatting ----

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(undefined, { year: sameYear ? undefined : 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}
export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
export function fmtPct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}
export function fmtIoU(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(2);
}
export function humanName(name: string): string {
  return name.replace(/_/g, ' ');
}
/** Black or white text, whichever reads better on `hex`. */
export function textOn(hex: string): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#000';
  const [r, g, b] = [m[1], m[2], m[3]].map((x) => {
    const c = parseInt(x, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const L = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Black or white, whichever contrasts more: one of them always reaches at least 4.58:1.
  return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? '#000000' : '#ffffff';
}

/** Re-renders every `ms` (for "x s ago" texts). */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
