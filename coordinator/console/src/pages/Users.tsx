import { useState, type FormEvent } from 'react';
import { patch, post } from '../api';
import { useUser } from '../user';
import { Badge, Card, ConfirmDialog, Empty, ErrorBanner, Loading, Notice, PageHeader } from '../components/ui';
import { fmtDate, useGet } from '../lib';
import type { UserRow } from '../types';


type Change = { user: UserRow; role?: 'admin' | 'viewer'; disabled?: boolean };

function describe(c: Change): { title: string; body: string; label: string; danger: boolean } {
  if (c.disabled === true) return { title: `Disable ${c.user.username}`, body: 'The account can no longer sign in, and its open sessions end now.', label: 'Disable', danger: true };
  if (c.disabled === false) return { title: `Enable ${c.user.username}`, body: 'The account can sign in again.', label: 'Enable', danger: false };
  return c.role === 'admin'
    ? { title: `Make ${c.user.username} an administrator`, body: 'Administrators change the roster, steps, sites, certificates and users.', label: 'Make administrator', danger: false }
    : { title: `Make ${c.user.username} a viewer`, body: 'Viewers see everything but change nothing. Their open sessions end now.', label: 'Make viewer', danger: true };
}

/** Console accounts: add, change role, disable (admins only). */
export function UsersPage() {
  const me = useUser();
  const users = useGet<UserRow[]>('/api/users');
  const [pending, setPending] = useState<Change | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' as 'admin' | 'viewer' });
  const [formError, setFormError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);

  const act = async () => {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      const body = pending.disabled !== undefined ? { disabled: pending.disabled } : { role: pending.role };
      await patch(`/api/users/${encodeURIComponent(pending.user.username)}`, body);
      setPending(null);
      users.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    setAdded(null);
    try {
      await post('/api/users', form);
      setAdded(form.username);
      setForm({ username: '', password: '', role: 'viewer' });
      users.reload();
    } catch (err) {
      setFormError((err as Error).message);
    }
  };

  const list = users.data ?? [];
  const text = pending ? describe(pending) : null;
  return (
    <>
      <PageHeader title="Users" subtitle="Who may use this console. Administrators change the federation; viewers only look. Every change here is in the audit log." />
      <ErrorBanner error={users.error} onRetry={users.reload} />
      <Card title="Accounts">
        {!users.data && !users.error && <Loading what="users" />}
        {users.data && list.length === 0 && <Empty>No account yet.</Empty>}
        {list.length > 0 && (
          <div className="table-wrap">
            <table data-testid="users">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {list.map((u) => {
                  const self = u.username === me.username;
                  return (
                    <tr key={u.username} data-user={u.username}>
                      <th scope="row">{u.username}{self && <span className="muted small"> (you)</span>}</th>
                      <td>{u.role === 'admin' ? 'Administrator' : 'Viewer'}</td>
                      <td><Badge status={u.disabled ? 'rejected' : 'approved'} label={u.disabled ? 'disabled' : 'active'} /></td>
                      <td><time dateTime={u.createdAt}>{fmtDate(u.createdAt)}</time></td>
                      <td className="actions">
                        {!self && (
                          <>
                            <button type="button" className="btn btn-small" onClick={() => setPending({ user: u, role: u.role === 'admin' ? 'viewer' : 'admin' })}>
                              {u.role === 'admin' ? 'Make viewer' : 'Make administrator'}<span className="sr-only">: {u.username}</span>
                            </button>
                            <button type="button" className={`btn btn-small ${u.disabled ? '' : 'btn-danger-ghost'}`} onClick={() => setPending({ user: u, disabled: !u.disabled })}>
                              {u.disabled ? 'Enable' : 'Disable'}<span className="sr-only">: {u.username}</span>
                            </button>
                          </>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title="Add a user">
        {added && <Notice tone="ok">User {added} added.</Notice>}
        <form onSubmit={add} className="add-form" aria-label="Add a user">
          <div className="field">
            <label htmlFor="user-name">Username</label>
            <input id="user-name" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} autoComplete="off" required aria-describedby="user-name-hint" />
            <span id="user-name-hint" className="muted small">2 to 32 lower-case letters, digits, . _ -</span>
          </div>
          <div className="field">
            <label htmlFor="user-password">Password</label>
            <input id="user-password" type="password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} autoComplete="new-password" required aria-describedby="user-password-hint" />
            <span id="user-password-hint" className="muted small">At least 12 characters</span>
          </div>
          <div className="field">
            <label htmlFor="user-role">Role</label>
            <select id="user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as 'admin' | 'viewer' })}>
              <option value="viewer">Viewer (read-only)</option>
              <option value="admin">Administrator</option>
            </select>
          </div>
          <ErrorBanner error={formError} />
          <div className="form-actions">
            <button type="submit" className="btn btn-primary">Add user</button>
          </div>
        </form>
      </Card>
      {pending && text && (
        <ConfirmDialog open title={text.title} confirmLabel={text.label} danger={text.danger} busy={busy} error={error} onConfirm={act} onCancel={() => { setPending(null); setError(null); }}>
          <p>{text.body}</p>
        </ConfirmDialog>
      )}
    </>
  );
}
