/** How the site agents of one machine share its cores (the federation harness's threads, bench:ciss's pinning). Pure. */
import { availableParallelism } from 'node:os';

/**
 * ONNX Runtime threads of each of `sites` agents sharing this machine's cores. An agent alone on a
 * hospital's machine takes every core (its default); several on one machine, each spinning a pool
 * over every core, train about half as fast as with the cores shared out: three generator
 * trainings of the demo's recipe on 2 cores took 175-180 ms a step with 2 threads each, 87 ms with
 * one (fifteenth session's notes).
 */
export function threadsPerSite(sites: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / sites));
}
