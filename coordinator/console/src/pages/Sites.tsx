import { Fragment, useEffect, useState } from 'react';
import { get, post } from '../api';
import { useIsAdmin } from '../user';
import { Badge, Card, ConfirmDialog, Empty, ErrorBanner, Loading, PageHeader, ReadOnlyNote } from '../components/ui';
import { fmtAgo, fmtBytes, fmtDate, useFederationEvents, useGet, useNow } from '../lib';
import type { Site, SiteUpdate } from '../types';

type Action = 'approve' | 'reject' | 'revoke';
const ACTION_TEXT: Record<Action, { title: string; body: string; label: string; danger: boolean }> = {
  approve: { title: 'Approve site', body: 'The site receives its certificate and joins the next round.', label: 'Approve', danger: false },
  reject: { title: 'Reject enrolment', body: 'The site will not receive a certificate and cannot take part.', label: 'Reject', danger: true },
  revoke: { title: 'Revoke site', body: 'Its certificate is revoked at once: the site can no longer download models or upload updates.', label: 'Revoke', danger: true },
};

export function SitesPage() {
  const admin = useIsAdmin();
  const sites = useGet<Site[]>('/api/sites');
  const [open, setOpen] = useState<string | null>(null);
  const [pending, setPending] = useState<{ site: Site; action: Action } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(5000);
  useFederationEvents((e) => e.type !== 'progress' && sites.reload());
  useEffect(() => {
    const t = setInterval(sites.reload, 15000);
    return () => clearInterval(t);
  }, [sites.reload]);

  const act = async () => {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      await post(`/api/sites/${encodeURIComponent(pending.site.id)}/${pending.action}`);
      setPending(null);
      sites.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const list = sites.data ?? [];
  const withRejections = list.filter((s) => s.rejectedUpdates > 0);
  return (
    <>
      <PageHeader title="Sites" subtitle="The hospitals of the federation: enrolment, liveness and what each has contributed. Samples are counts only; images never leave a site." />
      <ErrorBanner error={sites.error} onRetry={sites.reload} />
      {!admin && <ReadOnlyNote>Viewer: approving, rejecting and revoking sites needs an administrator.</ReadOnlyNote>}
      <Card title="Enrolled sites">
        {!sites.data && !sites.error && <Loading what="sites" />}
        {sites.data && list.length === 0 && <Empty>No site has enrolled yet. A hospital joins by running the site agent's enrol command.</Empty>}
        {list.length > 0 && (
          <div className="table-wrap">
            <table data-testid="sites">
              <thead>
                <tr>
                  <th scope="col">Site</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last heartbeat</th>
                  <th scope="col" className="num">Accepted</th>
                  <th scope="col" className="num">Real images</th>
                  <th scope="col" className="num">Replay</th>
                  <th scope="col" className="num">Rejected</th>
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <Fragment key={s.id}>
                    <tr data-site={s.id}>
                      <th scope="row">
                        <button type="button" className="disclosure" aria-expanded={open === s.id} aria-controls={`updates-${s.id}`} onClick={() => setOpen(open === s.id ? null : s.id)}>
                          <svg aria-hidden="true" width="12" height="12" viewBox="0 0 24 24"><path fill="currentColor" d="M8 5l8 7-8 7z" /></svg>
                          <span className="site-name">{s.displayName}</span>
                          <span className="sr-only">: {open === s.id ? 'hide' : 'show'} updates</span>
                        </button>
                        <div className="muted mono small ellipsis site-id" title={s.id}>{s.id}</div>
                      </th>
                      <td><Badge status={s.status} /></td>
                      <td>
                        <span className={`dot ${s.alive ? 'dot-ok' : 'dot-off'}`} aria-hidden="true" />
                        <span>{s.alive ? 'Online' : 'Offline'}</span>
                        <div className="muted small"><time dateTime={s.lastHeartbeatAt ?? undefined} title={fmtDate(s.lastHeartbeatAt)}>{fmtAgo(s.lastHeartbeatAt, now)}</time>{s.agentState ? ` · ${s.agentState}` : ''}</div>
                      </td>
                      <td className="num">{s.acceptedUpdates}</td>
                      <td className="num">{s.realImagesContributed.toLocaleString()}</td>
                      <td className="num">{s.replayImagesContributed.toLocaleString()}</td>
                      <td className={`num ${s.rejectedUpdates ? 'text-bad' : ''}`}>{s.rejectedUpdates}</td>
                      <td className="actions">
                        {admin && (s.status === 'pending' || s.status === 'rejected') && (
                          <button type="button" className="btn btn-small btn-primary" onClick={() => setPending({ site: s, action: 'approve' })}>Approve</button>
                        )}
                        {admin && s.status === 'pending' && (
                          <button type="button" className="btn btn-small" onClick={() => setPending({ site: s, action: 'reject' })}>Reject</button>
                        )}
                        {admin && s.status === 'approved' && (
                          <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => setPending({ site: s, action: 'revoke' })}>Revoke</button>
                        )}
                      </td>
                    </tr>
                    {open === s.id && (
                      <tr className="subrow">
                        <td colSpan={8} id={`updates-${s.id}`}>
                          <Updates siteId={s.id} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {withRejections.length > 0 && (
        <Card title="Rejected updates" description="Updates the coordinator refused, with the reason it gave the site.">
          {withRejections.map((s) => (
            <div key={s.id} className="rejections">
              <h3>{s.displayName}</h3>
              <Updates siteId={s.id} onlyRejected />
            </div>
          ))}
        </Card>
      )}
      {pending && (
        <ConfirmDialog
          open
          title={`${ACTION_TEXT[pending.action].title}: ${pending.site.displayName}`}
          confirmLabel={ACTION_TEXT[pending.action].label}
          danger={ACTION_TEXT[pending.action].danger}
          onConfirm={act}
          onCancel={() => { setPending(null); setError(null); }}
          busy={busy}
          error={error}
        >
          <p>{ACTION_TEXT[pending.action].body}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function Updates({ siteId, onlyRejected }: { siteId: string; onlyRejected?: boolean }) {
  const [rows, setRows] = useState<SiteUpdate[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<SiteUpdate[]>(`/api/sites/${encodeURIComponent(siteId)}/updates`).then(setRows, (e: Error) => setError(e.message));
  }, [siteId]);
  if (error) return <ErrorBanner error={error} />;
  if (!rows) return <Loading what="updates" />;
  const shown = onlyRejected ? rows.filter((u) => u.status === 'rejected') : rows;
  if (!shown.length) return <Empty>No updates yet.</Empty>;
  return (
    <table className="inner" data-testid={onlyRejected ? 'rejected-updates' : 'site-updates'}>
      <thead>
        <tr>
          <th scope="col">When</th><th scope="col">Round</th><th scope="col">Status</th><th scope="col" className="num">Real</th><th scope="col" className="num">Replay</th><th scope="col" className="num">Size</th><th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((u) => (
          <tr key={u.id}>
            <td>{fmtDate(u.createdAt)}</td>
            <td className="mono small">{u.roundId}</td>
            <td><Badge status={u.status} /></td>
            <td className="num">{u.realImages}</td>
            <td className="num">{u.replayImages}</td>
            <td className="num">{fmtBytes(u.totalBytes)}</td>
            <td className="wrap">{u.rejectionReason ?? <span className="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
