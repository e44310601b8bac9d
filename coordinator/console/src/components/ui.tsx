import { useEffect, useId, useRef, type ReactNode } from 'react';

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1 tabIndex={-1} id="page-title">{title}</h1>
        {subtitle && <p className="subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}

export function Card({ title, children, actions, className, id, description }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; className?: string; id?: string; description?: ReactNode }) {
  const hid = useId();
  return (
    <section className={`card ${className ?? ''}`} aria-labelledby={title ? hid : undefined} id={id}>
      {(title || actions) && (
        <div className="card-head">
          {title && <h2 id={hid}>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      {description && <p className="card-desc">{description}</p>}
      {children}
    </section>
  );
}

const TONES: Record<string, string> = {
  approved: 'ok', completed: 'ok', accepted: 'ok', live: 'ok', active: 'ok', open: 'info', collecting: 'info', running: 'info', training: 'info',
  aggregating: 'info', evaluating: 'info', pending: 'warn', connecting: 'warn', waiting: 'warn', archived: 'muted', offline: 'muted',
  rejected: 'bad', revoked: 'bad', failed: 'bad', dead: 'bad',
};
export function Badge({ status, label }: { status: string; label?: string }) {
  return <span className={`badge badge-${TONES[status] ?? 'muted'}`}>{label ?? status}</span>;
}

export function ErrorBanner({ error, onRetry }: { error: string | null | undefined; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert">
      <span>{error}</span>
      {onRetry && <button type="button" className="btn btn-small" onClick={onRetry}>Retry</button>}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'ok' | 'warn' }) {
  return <div className={`banner banner-${tone}`} role="status">{children}</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return <p className="loading" role="status">Loading {what}…</p>;
}

export function ReadOnlyNote({ children }: { children: ReactNode }) {
  return (
    <p className="readonly-note">
      <svg aria-hidden="true" className="icon" width="14" height="14" viewBox="0 0 24 24"><path fill="currentColor" d="M12 1a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-9a2 2 0 0 0-2-2h-1V6a5 5 0 0 0-5-5Zm-3 8V6a3 3 0 1 1 6 0v3H9Z" /></svg>
      {children}
    </p>
  );
}

/**
 * A modal confirmation on the native <dialog> (focus moves into it, Escape cancels, the page behind
 * is inert). The confirm button gets focus first only when the action is harmless; otherwise Cancel.
 */
export function ConfirmDialog(props: {
  open: boolean; title: string; children: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void;
  busy?: boolean; danger?: boolean; error?: string | null;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      d.showModal();
      // showModal() focuses the first button (React's autoFocus sets no attribute for it to find): move focus as promised.
      d.querySelector<HTMLButtonElement>('[data-autofocus="true"]')?.focus();
    }
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} aria-describedby={bodyId} onCancel={(e) => { e.preventDefault(); if (!props.busy) props.onCancel(); }}>
      <h2 id={titleId}>{props.title}</h2>
      <div id={bodyId} className="dialog-body">{props.children}</div>
      <ErrorBanner error={props.error} />
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={props.onCancel} disabled={props.busy} data-autofocus={!!props.danger}>Cancel</button>
        <button type="button" className={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} onClick={props.onConfirm} disabled={props.busy} data-autofocus={!props.danger}>
          {props.busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Swatch({ color, label }: { color: string; label?: string }) {
  return <span className="swatch" style={{ background: color }} role={label ? 'img' : undefined} aria-label={label} aria-hidden={label ? undefined : true} />;
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={`${pct}%`}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}
