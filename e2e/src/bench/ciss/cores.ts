/** Which cores each site agent of a benchmark run is pinned to. Pure. */
import { threadsPerSite } from '../../harness/core-share';

/** The cores (taskset list) of site `index` of `sites` on `cores` cores; undefined: do not pin. */
export function coreListFor(index: number, sites: number, cores: number): string | undefined {
  if (cores < 2) return undefined;
  if (sites > cores) return String(index % cores);
  const per = threadsPerSite(sites, cores);
  const first = index * per;
  return per === 1 ? String(first) : `${first}-${first + per - 1}`;
}
