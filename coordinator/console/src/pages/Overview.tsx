import { useEffect, useMemo, useRef, useState } from 'react';
import { Badge, Card, Empty, ErrorBanner, Loading, PageHeader, ProgressBar } from '../components/ui';
import { fmtAgo, fmtDate, humanName, Link, useFederationEvents, useGet, useNow } from '../lib';
import type { FederationEvent, Overview, RosterClass, Site, SiteProgress } from '../types';

const ROUND_KIND: Record<string, string> = { segmenter: 'segmenter training', generator: 'generator training', evaluate: 'evaluation' };

interface FeedItem { at: string; text: string; detail?: string; tone: string }

function describeEvent(e: FederationEvent, siteName: (id: string) => string): FeedItem | null {
  const at = new Date().toISOString();
  if (e.type === 'round') return { at, text: `Round ${e.roundId} is ${e.status}`, detail: e.reason ?? undefined, tone: e.status };
  if (e.type === 'step') return { at, text: `Step ${e.step} is ${e.status}`, tone: e.status };
  if (e.type === 'withheld') return { at, text: `${siteName(e.siteId)} withheld its ${e.kind} update`, detail: e.reason, tone: 'failed' };
  if (e.type === 'progress' && e.progress.fraction >= 1) return { at, text: `${siteName(e.progress.siteId)} finished ${e.progress.phase}`, tone: 'completed' };
  return null;
}

export function OverviewPage() {
  const overview = useGet<Overview>('/api/overview');
  const sites = useGet<Site[]>('/api/sites');
  const roster = useGet<RosterClass[]>('/api/roster');
  const [progress, setProgress] = useState<Record<string, SiteProgress>>({});
  const [feed, setFeed] = useState<FeedItem[]>([]);
  const now = useNow(5000);

  useEffect(() => {
    if (overview.data) setProgress((p) => ({ ...Object.fromEntries(overview.data!.progress.map((x) => [x.siteId, x])), ...p }));
  }, [overview.data]);

  const siteName = (id: string) => sites.data?.find((s) => s.id === id)?.displayName ?? id;
  // A finished phase (an upload, an evaluation) changes the round's state: refresh it, at most once a second.
  const refreshSoon = useRef<number | null>(null);
  useEffect(() => () => { if (refreshSoon.current) clearTimeout(refreshSoon.current); }, []);
  useFederationEvents((e) => {
    if (e.type === 'progress') {
      const before = progress[e.progress.siteId];
      setProgress((p) => ({ ...p, [e.progress.siteId]: e.progress }));
      if ((e.progress.fraction >= 1 || before?.phase !== e.progress.phase) && !refreshSoon.current) {
        refreshSoon.current = window.setTimeout(() => { refreshSoon.current = null; overview.reload(); }, 1000);
      }
    } else {
      overview.reload();
      sites.reload();
      if (e.type === 'step') roster.reload();
    }
    const item = describeEvent(e, siteName);
    if (item) setFeed((f) => [item, ...f].slice(0, 12));
  });

  const ov = overview.data;
  const round = ov?.round ?? null;
  const stepClasses = useMemo(() => (roster.data ?? []).filter((c) => c.id !== 0 && ov?.step && c.stepAdded === ov.step.index), [roster.data, ov]);
  const siteIds = useMemo(() => {
    const ids = new Set<string>(round?.sites ?? []);
    for (const p of Object.values(progress)) if (!round || p.roundId === round.id) ids.add(p.siteId);
    for (const s of sites.data ?? []) if (s.status === 'approved') ids.add(s.id);
    return [...ids];
  }, [round, progress, sites.data]);
  const online = (sites.data ?? []).filter((s) => s.status === 'approved' && s.alive).length;
  const approved = (sites.data ?? []).filter((s) => s.status === 'approved').length;
  const pending = (sites.data ?? []).filter((s) => s.status === 'pending').length;

  return (
    <>
      <PageHeader title="Overview" subtitle="The federation's current incremental step, the round in progress and what each hospital is doing." />
      <ErrorBanner error={overview.error} onRetry={overview.reload} />
      {!ov && !overview.error && <Loading what="overview" />}
      {ov && (
        <>
          <div className="stats" role="list">
            <div className="stat" role="listitem" data-testid="current-step">
              <div className="stat-label">Current step</div>
              <div className="stat-value">{ov.step ? `Step ${ov.step.index}` : 'None yet'}</div>
              <div className="stat-foot">
                {ov.step ? <Badge status={ov.step.status} /> : <Link href="/classes">Add classes to open step 0</Link>}
                {stepClasses.length > 0 && <span className="muted"> adds {stepClasses.map((c) => humanName(c.name)).join(', ')}</span>}
              </div>
            </div>
            <div className="stat" role="listitem" data-testid="current-round">
              <div className="stat-label">Current round</div>
              <div className="stat-value">{round ? `Round ${round.index}` : 'No round'}</div>
              <div className="stat-foot">
                {round ? (
                  <>
                    <Badge status={round.status} /> <span className="muted">{ROUND_KIND[round.kind] ?? round.kind} · {round.accepted.length} of {round.sites.length} sites in{round.rejected.length ? ` · ${round.rejected.length} rejected` : ''} · quorum {round.quorum}</span>
                  </>
                ) : (
                  <span className="muted">Rounds open when a step starts</span>
                )}
              </div>
            </div>
            <div className="stat" role="listitem">
              <div className="stat-label">Sites online</div>
              <div className="stat-value">{online} / {approved}</div>
              <div className="stat-foot">{pending ? <Link href="/sites">{pending} awaiting approval</Link> : <span className="muted">approved sites with a recent heartbeat</span>}</div>
            </div>
            <div className="stat" role="listitem">
              <div className="stat-label">Classes</div>
              <div className="stat-value">{(roster.data ?? []).filter((c) => c.id !== 0 && !c.archived).length}</div>
              <div className="stat-foot"><span className="muted">active in the roster (plus background)</span></div>
            </div>
          </div>

          <div className="grid-2-1">
            <Card title="Site progress" description={round ? <>Round <code>{round.id}</code> opened {fmtAgo(round.openedAt, now)}; deadline {fmtDate(round.deadlineAt)}.</> : 'Live progress each site reports while it trains or evaluates.'}>
              {siteIds.length === 0 ? (
                <Empty>No site has joined yet.</Empty>
              ) : (
                <ul className="progress-list" aria-live="polite" data-testid="site-progress">
                  {siteIds.map((id) => {
                    const p = progress[id];
                    const current = p && (!round || p.roundId === round.id) ? p : undefined;
                    const accepted = round?.accepted.includes(id);
                    const rejected = round?.rejected.includes(id);
                    const withheld = round?.withheld?.find((w) => w.siteId === id);
                    const evaluating = round?.kind === 'evaluate';
                    const state = accepted ? (evaluating ? 'evaluation reported' : 'update accepted') : withheld ? `update withheld: ${withheld.reason}` : rejected ? 'update rejected' : current ? current.phase : round?.sites.includes(id) ? 'waiting' : 'idle';
                    const fraction = accepted ? 1 : current?.fraction ?? 0;
                    return (
                      <li key={id} className="progress-row" data-site={id}>
                        <div className="progress-head">
                          <span className="site-name">{siteName(id)}</span>
                          <Badge status={accepted ? 'accepted' : rejected ? 'rejected' : current ? 'running' : 'waiting'} label={state} />
                          <span className="progress-pct">{Math.round(fraction * 100)}%</span>
                        </div>
                        <ProgressBar value={fraction} label={`${siteName(id)} progress`} />
                        <div className="progress-meta">
                          {current?.message && <span>{current.message}</span>}
                          {current && Object.entries(current.metrics).map(([k, v]) => (
                            <span key={k} className="metric">{k} <strong>{Number.isInteger(v) ? v : v.toFixed(3)}</strong></span>
                          ))}
                          {current && <span className="muted">updated {fmtAgo(current.at, now)}</span>}
                        </div>
                      </li>
                    );
                  })}
                </ul>
              )}
            </Card>
            <Card title="Live feed" description="Round and step changes as they happen.">
              {feed.length === 0 ? (
                <Empty>Nothing has happened since you opened this page.</Empty>
              ) : (
                <ol className="feed" aria-live="polite" data-testid="live-feed">
                  {feed.map((f, i) => (
                    <li key={i}>
                      <Badge status={f.tone} label={f.tone} />
                      <span>
                        {f.text}
                        {f.detail && <span className="feed-detail">{f.detail}</span>}
                      </span>
                      <time dateTime={f.at} className="muted">{fmtAgo(f.at, now)}</time>
                    </li>
                  ))}
                </ol>
              )}
            </Card>
          </div>

          <Card title="Recent events" description="The latest entries of the audit log: changes to the roster, steps, sites and certificates.">
            {ov.events.length === 0 ? (
              <Empty>No events yet.</Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Target</th></tr>
                  </thead>
                  <tbody>
                    {ov.events.slice(0, 10).map((e) => (
                      <tr key={e.id}>
                        <td><time dateTime={e.at} title={fmtDate(e.at)}>{fmtAgo(e.at, now)}</time></td>
                        <td>{e.actor}</td>
                        <td><code>{e.action}</code></td>
                        <td className="wrap">{e.target}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
        </>
      )}
    </>
  );
}
