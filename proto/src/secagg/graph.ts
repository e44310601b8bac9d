/**
 * Who masks with whom (SecAgg+, Bell et al. 2020): instead of every pair of sites, each site pairs
 * with its k nearest sites on a ring whose order comes from a hash of the round id and the site
 * ids (so it differs per round and nobody chooses it). With k ≥ n − 1 this is the complete graph
 * of the original SecAgg (Bonawitz et al. 2017). A site's secrets are Shamir-shared among itself
 * and its neighbours.
 */
import { createHash } from 'node:crypto';

export function neighbours(siteIds: readonly string[], roundId: string, k: number): Map<string, Set<string>> {
  const unique = [...new Set(siteIds)];
  const n = unique.length;
  const ring = unique
    .map((id) => ({ id, key: createHash('sha256').update(`${roundId}\u0000${id}`).digest('hex') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => e.id);
  const half = Math.max(1, Math.ceil(k / 2));
  const out = new Map<string, Set<string>>(ring.map((id) => [id, new Set<string>()]));
  for (let i = 0; i < n; i++) {
    for (let d = 1; d <= half && d < n; d++) {
      const j = ring[(i + d) % n];
      out.get(ring[i])!.add(j);
      out.get(j)!.add(ring[i]);
    }
  }
  return out;
}

/** +1 when `me` adds the pair's mask, −1 when it subtracts it (the two ends cancel in the sum). */
export const pairSign = (me: string, other: string): 1 | -1 => (me < other ? 1 : -1);
