import { useState, type FormEvent } from 'react';
import { Card, Empty, ErrorBanner, Loading, PageHeader } from '../components/ui';
import { fmtDate, useGet } from '../lib';
import type { AuditEntry } from '../types';

interface Filter {
  actor: string;
  action: string;
  from: string;
  to: string;
}

const EMPTY: Filter = { actor: '', action: '', from: '', to: '' };

/** A datetime-local value (the browser's local time) as ISO 8601 for the API. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

function queryOf(f: Filter): string {
  const q = new URLSearchParams({ limit: '500' });
  if (f.actor.trim()) q.set('actor', f.actor.trim());
  if (f.action) q.set('action', f.action);
  const from = isoOf(f.from);
  const to = isoOf(f.to);
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  return q.toString();
}

/** The audit log: every change to the roster, steps, sites, certificates, invitations and users, filterable. */
export function AuditPage() {
  const [draft, setDraft] = useState<Filter>(EMPTY);
  const [applied, setApplied] = useState<Filter>(EMPTY);
  const entries = useGet<AuditEntry[]>(`/api/audit?${queryOf(applied)}`);
  const actions = useGet<string[]>('/api/audit/actions');
  const set = (k: keyof Filter, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setApplied(draft);
  };
  const clear = () => {
    setDraft(EMPTY);
    setApplied(EMPTY);
  };
  const list = entries.data ?? [];
  const filtered = JSON.stringify(applied) !== JSON.stringify(EMPTY);
  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change to the federation, who made it and when: classes, steps, rounds, sites, certificates, invitations, users and sign-ins." />
      <ErrorBanner error={entries.error ?? actions.error} onRetry={entries.reload} />
      <Card title="Filter">
        <form className="filter-form" onSubmit={apply} aria-label="Filter the audit log">
          <div className="field">
            <label htmlFor="audit-actor">Actor</label>
            <input id="audit-actor" type="search" value={draft.actor} onChange={(e) => set('actor', e.target.value)} placeholder="e.g. admin or site:" autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor="audit-action">Action</label>
            <select id="audit-action" value={draft.action} onChange={(e) => set('action', e.target.value)}>
              <option value="">Any action</option>
              {(actions.data ?? []).map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="audit-from">From</label>
            <input id="audit-from" type="datetime-local" value={draft.from} onChange={(e) => set('from', e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="audit-to">Until</label>
            <input id="audit-to" type="datetime-local" value={draft.to} onChange={(e) => set('to', e.target.value)} />
          </div>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary">Apply filter</button>
            <button type="button" className="btn" onClick={clear}>Clear</button>
          </div>
        </form>
      </Card>
      <Card title="Entries" description={filtered ? 'Matching the filter, newest first (at most 500).' : 'Newest first (at most 500).'}>
        {!entries.data && !entries.error && <Loading what="audit entries" />}
        <p className="sr-only" role="status" aria-live="polite">{entries.data ? `${list.length} entries` : ''}</p>
        {entries.data && list.length === 0 && <Empty>No entry matches.</Empty>}
        {list.length > 0 && (
          <div className="table-wrap">
            <table data-testid="audit">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id} data-action={e.action}>
                    <td><time dateTime={e.at}>{fmtDate(e.at)}</time></td>
                    <td className="mono small">{e.actor}</td>
                    <td className="mono small">{e.action}</td>
                    <td className="mono small ellipsis" title={e.target}>{e.target}</td>
                    <td className="mono small">{e.details && Object.keys(e.details as object).length ? JSON.stringify(e.details) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
