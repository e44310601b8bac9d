/**
 * Problems found in a settings file (the coordinator's training settings, a site agent's settings),
 * one line per problem, each starting with the key's path: `generatorTraining.epocs: unknown
 * setting`, `stepSurgeries[1][0]: ...`. Both programs validate their files with zod schemas; this is
 * the one formatter of the issues those schemas report (a structural type: no zod import needed here).
 */
export interface SettingsIssue {
  readonly code: string;
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
  /** Unrecognized keys (code `unrecognized_keys`). */
  readonly keys?: readonly string[];
}

/** `a.b[2].c`; the root is `(top level)`. */
export function settingPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(top level)';
}

export function describeSettingsIssues(issues: readonly SettingsIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys) lines.push(`${settingPath([...issue.path, key])}: unknown setting (a typo?)`);
    } else {
      lines.push(`${settingPath(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}
