/** The coordinator's REST API as a test (or benchmark) calls it: sign in, then JSON in and out. */
export interface RestResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** `body` is sent as JSON, or as it is when it is a string (to send malformed JSON); `token` overrides the client's ('' sends none). */
export type RestCall = <T = any>(method: string, path: string, body?: unknown, token?: string) => Promise<RestResponse<T>>;

/** Signs in and returns the session token (throws with the answer when sign-in fails). */
export async function signIn(baseUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** A caller of the REST API with a bearer token; `token` is read at each call, so it may change. */
export function restClient(baseUrl: () => string, token: () => string): RestCall {
  return async (method, path, body, override) => {
    const bearer = override ?? token();
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: the text itself */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
}
