import { useMemo, useState, type FormEvent } from 'react';
import { patch, post } from '../api';
import { useIsAdmin } from '../user';
import { Badge, Card, ConfirmDialog, Empty, ErrorBanner, Loading, Notice, PageHeader, ReadOnlyNote, Swatch } from '../components/ui';
import { humanName, useGet } from '../lib';
import type { AddClassesResult, RosterClass, Step } from '../types';

interface Draft { name: string; color: string | null; description: string }
const NAME = /^[a-z][a-z0-9_]{0,63}$/;
const PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#ff7f0e', '#d62728', '#7f7f7f'];
/** color null: the coordinator picks (the DSAD colour for a DSAD structure, else a stable one from the name). */
const emptyDraft = (): Draft => ({ name: '', color: null, description: '' });

export function ClassesPage() {
  const admin = useIsAdmin();
  const roster = useGet<RosterClass[]>('/api/roster');
  const steps = useGet<Step[]>('/api/steps');
  const [showArchived, setShowArchived] = useState(true);
  const [archiveError, setArchiveError] = useState<string | null>(null);

  const classes = roster.data ?? [];
  const visible = classes.filter((c) => showArchived || !c.archived);
  const nextStep = (steps.data ?? []).reduce((m, s) => Math.max(m, s.index + 1), 0);
  const stepStatus = (i: number) => steps.data?.find((s) => s.index === i)?.status;

  const toggleArchive = async (c: RosterClass) => {
    setArchiveError(null);
    try {
      await patch(`/api/roster/classes/${c.id}`, { archived: !c.archived });
      roster.reload();
    } catch (e) {
      setArchiveError((e as Error).message);
    }
  };

  return (
    <>
      <PageHeader title="Classes" subtitle="The anatomical structures the model segments. Ids are output channels: 0 is background, then classes in the order they were added." />
      <div className="grid-classes">
        <Card
          title="Roster"
          actions={
            <label className="check">
              <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived
            </label>
          }
        >
          <ErrorBanner error={roster.error ?? archiveError} onRetry={roster.error ? roster.reload : undefined} />
          {!roster.data && !roster.error && <Loading what="roster" />}
          {roster.data && classes.length === 0 && <Empty>No classes yet. {admin ? 'Add the first classes to open step 0.' : 'An administrator opens step 0 by adding classes.'}</Empty>}
          {visible.length > 0 && (
            <div className="table-wrap">
              <table data-testid="roster">
                <thead>
                  <tr>
                    <th scope="col" className="num">Id</th>
                    <th scope="col">Class</th>
                    <th scope="col">Description</th>
                    <th scope="col">Added in</th>
                    <th scope="col">Status</th>
                    {admin && <th scope="col"><span className="sr-only">Actions</span></th>}
                  </tr>
                </thead>
                <tbody>
                  {visible.map((c) => (
                    <tr key={c.id} className={c.archived ? 'row-muted' : undefined} data-class={c.name}>
                      <td className="num">{c.id}</td>
                      <th scope="row" className="class-cell">
                        <span className="class-name"><Swatch color={c.color} label={`colour ${c.color}`} />{humanName(c.name)}</span>
                      </th>
                      <td className="wrap">{c.description || <span className="muted">—</span>}</td>
                      <td title={stepStatus(c.stepAdded) ? `step ${c.stepAdded} is ${stepStatus(c.stepAdded)}` : undefined}>Step {c.stepAdded}</td>
                      <td><Badge status={c.archived ? 'archived' : 'active'} /></td>
                      {admin && (
                        <td className="actions">
                          {c.id !== 0 && <button type="button" className="btn btn-small" onClick={() => toggleArchive(c)} aria-label={`${c.archived ? 'Restore' : 'Archive'} ${humanName(c.name)}`}>
                            {c.archived ? 'Restore' : 'Archive'}
                          </button>}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="hint">Archived classes stay in every model that knows them; archiving only hides them from new annotation work.</p>
        </Card>
        {admin ? (
          <AddClasses nextStep={nextStep} existing={classes} onAdded={() => { roster.reload(); steps.reload(); }} />
        ) : (
          <Card title="Add classes">
            <ReadOnlyNote>You are signed in as a viewer. Only administrators can add classes and open a new incremental step.</ReadOnlyNote>
          </Card>
        )}
      </div>
    </>
  );
}

function AddClasses({ nextStep, existing, onAdded }: { nextStep: number; existing: RosterClass[]; onAdded: () => void }) {
  const [drafts, setDrafts] = useState<Draft[]>([emptyDraft()]);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ step: number; names: string[] } | null>(null);
  const [touched, setTouched] = useState(false);

  const problems = useMemo(() => {
    const seen = new Set<string>();
    return drafts.map((d) => {
      const name = d.name.trim();
      if (!name) return 'Enter a name.';
      if (!NAME.test(name)) return 'Use lower-case letters, digits and _, starting with a letter (e.g. vesicular_glands).';
      if (name === 'background') return '"background" is class 0 and reserved.';
      if (existing.some((c) => c.name === name)) return 'This class is already in the roster.';
      if (seen.has(name)) return 'This name appears twice.';
      seen.add(name);
      return null;
    });
  }, [drafts, existing]);

  const set = (i: number, k: keyof Draft, v: string | null) => setDrafts((ds) => ds.map((d, j) => (j === i ? { ...d, [k]: v } : d)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    setDone(null);
    if (problems.some(Boolean)) {
      const first = problems.findIndex(Boolean);
      document.getElementById(`class-name-${first}`)?.focus();
      return;
    }
    setError(null);
    setConfirming(true);
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await post<AddClassesResult>('/api/roster/classes', {
        classes: drafts.map((d) => ({ name: d.name.trim(), ...(d.color ? { color: d.color } : {}), ...(d.description.trim() ? { description: d.description.trim() } : {}) })),
      });
      setConfirming(false);
      setDone({ step: r.step, names: r.classes.map((c) => c.name) });
      setDrafts([emptyDraft()]);
      setTouched(false);
      onAdded();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Add classes" description={nextStep === 0
      ? <>The first classes open <strong>step 0</strong>: sites train the first model on annotations of these classes.</>
      : <>Adding classes opens <strong>step {nextStep}</strong>: the model's output grows by one channel per class, and sites train on annotations of the new classes while replay keeps the old ones.</>}>
      {done && (
        <Notice tone="ok">
          <span data-testid="step-opened">Step {done.step} opened with {done.names.map(humanName).join(', ')}.</span>
        </Notice>
      )}
      <form onSubmit={submit} noValidate className="add-form">
        {drafts.map((d, i) => {
          const problem = touched ? problems[i] : null;
          return (
            <fieldset key={i} className="class-draft">
              <legend>New class {drafts.length > 1 ? i + 1 : ''}</legend>
              <div className="field">
                <label htmlFor={`class-name-${i}`}>Name</label>
                <input
                  id={`class-name-${i}`} value={d.name} onChange={(e) => set(i, 'name', e.target.value)} placeholder="e.g. ureter" autoComplete="off" spellCheck={false}
                  aria-invalid={problem ? true : undefined} aria-describedby={`class-name-${i}-help`} required
                />
                <p id={`class-name-${i}-help`} className={problem ? 'field-error' : 'field-help'}>{problem ?? 'Lower-case letters, digits and _.'}</p>
              </div>
              <div className="field field-color">
                <span className="label" id={`class-color-${i}-label`}>Colour</span>
                <div className="color-input">
                  <label className="check">
                    <input type="checkbox" checked={d.color === null} onChange={(e) => set(i, 'color', e.target.checked ? null : PALETTE[i % PALETTE.length])} /> Automatic
                  </label>
                  {d.color !== null && (
                    <>
                      <input id={`class-color-${i}`} type="color" value={d.color} onChange={(e) => set(i, 'color', e.target.value)} aria-labelledby={`class-color-${i}-label`} />
                      <span className="mono">{d.color}</span>
                    </>
                  )}
                  {d.color === null && <span className="muted small">standard colour for DSAD structures, otherwise one derived from the name</span>}
                </div>
              </div>
              <div className="field">
                <label htmlFor={`class-desc-${i}`}>Description <span className="muted">(optional)</span></label>
                <textarea id={`class-desc-${i}`} rows={2} maxLength={500} value={d.description} onChange={(e) => set(i, 'description', e.target.value)} />
              </div>
              {drafts.length > 1 && (
                <button type="button" className="btn btn-small btn-ghost" onClick={() => setDrafts((ds) => ds.filter((_, j) => j !== i))}>
                  Remove class {i + 1}
                </button>
              )}
            </fieldset>
          );
        })}
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setDrafts((ds) => [...ds, emptyDraft()])} disabled={drafts.length >= 64}>
            Add another class
          </button>
          <button type="submit" className="btn btn-primary">Review and open step {nextStep}</button>
        </div>
      </form>
      <ConfirmDialog
        open={confirming}
        title={`Open incremental step ${nextStep}?`}
        confirmLabel={`Add ${drafts.length === 1 ? 'class' : `${drafts.length} classes`} and open step ${nextStep}`}
        onConfirm={confirm}
        onCancel={() => setConfirming(false)}
        busy={busy}
        error={error}
      >
        <p data-testid="confirm-text">
          A new incremental step will open: <strong>step {nextStep}</strong>.{' '}
          {nextStep === 0
            ? <>The coordinator creates the first global model (background plus {drafts.length} {drafts.length === 1 ? 'class' : 'classes'}) and asks every site to train on {drafts.length === 1 ? 'it' : 'them'}.</>
            : <>The coordinator grows the global model by {drafts.length} output {drafts.length === 1 ? 'channel' : 'channels'}, freezes the current model as the teacher, and asks every site to train on the new {drafts.length === 1 ? 'class' : 'classes'}.</>}
        </p>
        <ul className="confirm-list">
          {drafts.map((d, i) => (
            <li key={i}>{d.color ? <Swatch color={d.color} /> : <span className="swatch swatch-auto" aria-hidden="true" />} <strong>{humanName(d.name.trim())}</strong> {d.description && <span className="muted">— {d.description}</span>}</li>
          ))}
        </ul>
        <p className="muted">Classes cannot be removed once added (they can be archived).</p>
      </ConfirmDialog>
    </Card>
  );
}
