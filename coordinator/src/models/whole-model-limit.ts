/**
 * How large a model a round may hold whole in memory. Validation, the sliced strategies (fedavg,
 * fedprox, median, trimmed mean without clipping), storing a version and cross-site evaluation
 * read and write models by slices at any size; what needs the whole model (server-side
 * distillation, strategies with server state, clipping, secure aggregation) holds it several times
 * over (the base, the aggregate, an update, scratch), and a Buffer or readFile stops at 2 GiB.
 */
export const WHOLE_MODEL_LIMIT_BYTES = 1024 ** 3;

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

/**
 * Why `needs` (steps that hold the whole model, in words) cannot run on a model of `modelBytes`,
 * or null when it fits under `limitBytes`.
 */
export function wholeModelRefusal(modelBytes: number, needs: readonly string[], limitBytes = WHOLE_MODEL_LIMIT_BYTES): string | null {
  if (!needs.length || modelBytes <= limitBytes) return null;
  return `${needs.join(' and ')} ${needs.length > 1 ? 'need' : 'needs'} the whole model in memory, and this model is ${mib(modelBytes)}, above the ${mib(limitBytes)} a round holds whole`;
}
