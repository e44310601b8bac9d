/**
 * Secure aggregation (SecAgg / SecAgg+): each site masks its quantised vector with a self mask
 * PRG(b) and pairwise masks ±PRG(s_ij) agreed with its neighbours by X25519 + HKDF; the pairwise
 * masks cancel in the sum; the server removes the self masks of the sites whose inputs it summed,
 * and the pairwise masks of the sites that dropped after sharing their keys, from Shamir shares the
 * survivors reveal (threshold t). A site never reveals both secrets of one owner, so the server can
 * unmask the sum and never a single input.
 *
 * Transport-free: the site side is `SecAggClient` (one per round), the server side `unmaskSum`;
 * messages are plain values. Shamir: `shamir-secret-sharing` (audited, GF(2^8)); everything else
 * is node's crypto.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { agree, generateKeyPair, publicKeyOf, SecAggError, type KeyPair } from './keys';
import { neighbours, pairSign } from './graph';
import { addMask } from './prg';

export interface SecAggParams {
  readonly roundId: string;
  /** Shares needed to recover a secret (so at least this many of a site's holders must answer). */
  readonly threshold: number;
  /** Neighbours each site masks with (SecAgg+); ≥ n − 1: every pair. */
  readonly neighbours: number;
}

/** Round 0: what a site publishes. */
export interface Advertisement {
  readonly siteId: string;
  /** X25519 public key for encrypting shares between sites. */
  readonly encryptionKey: Uint8Array;
  /** X25519 public key whose agreements seed the pairwise masks. */
  readonly maskKey: Uint8Array;
  /** SHA-256 of the self-mask seed, so a reconstructed seed can be checked. */
  readonly selfSeedHash: Uint8Array;
}

/** Round 1: a share bundle for one holder, readable by that holder only. */
export interface EncryptedShare {
  readonly from: string;
  readonly to: string;
  /** AES-256-GCM: 12-byte IV, ciphertext, 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

/** Round 3: a share a holder reveals to the server. */
export interface RevealedShare {
  readonly holder: string;
  readonly owner: string;
  /** `self`: of the owner's self-mask seed (the owner's input is in the sum); `mask`: of its mask key (it dropped). */
  readonly secret: 'self' | 'mask';
  readonly share: Uint8Array;
}

/** shamir-secret-sharing checks for plain Uint8Arrays (a Buffer is refused). */
const plain = (b: Uint8Array) => new Uint8Array(b);

const SHARE_PURPOSE = 'share encryption';
const MASK_PURPOSE = 'pairwise mask';

function checkRoster(roster: readonly Advertisement[]): Map<string, Advertisement> {
  const byId = new Map<string, Advertisement>();
  for (const a of roster) {
    if (byId.has(a.siteId)) throw new SecAggError(`site ${a.siteId} appears twice in the roster`);
    byId.set(a.siteId, a);
  }
  return byId;
}

function holdersOf(owner: string, graph: Map<string, Set<string>>): string[] {
  return [owner, ...(graph.get(owner) ?? [])].sort();
}

export class SecAggClient {
  private readonly encryption: KeyPair = generateKeyPair();
  private readonly mask: KeyPair = generateKeyPair();
  private readonly selfSeed = randomBytes(32);
  private roster?: Map<string, Advertisement>;
  private graph?: Map<string, Set<string>>;

  constructor(readonly siteId: string, readonly params: SecAggParams) {}

  advertise(): Advertisement {
    return { siteId: this.siteId, encryptionKey: this.encryption.publicKey, maskKey: this.mask.publicKey, selfSeedHash: createHash('sha256').update(this.selfSeed).digest() };
  }

  /** Splits the self-mask seed and the mask key among this site and its neighbours, encrypted for each. */
  async shareKeys(roster: readonly Advertisement[]): Promise<EncryptedShare[]> {
    const byId = checkRoster(roster);
    const mine = byId.get(this.siteId);
    if (!mine || Buffer.compare(Buffer.from(mine.maskKey), Buffer.from(this.mask.publicKey)) !== 0) throw new SecAggError(`the roster does not carry site ${this.siteId}'s own keys`);
    this.roster = byId;
    this.graph = neighbours([...byId.keys()], this.params.roundId, this.params.neighbours);
    const holders = holdersOf(this.siteId, this.graph);
    if (holders.length < this.params.threshold || this.params.threshold < 2) {
      throw new SecAggError(`threshold ${this.params.threshold} needs 2..${holders.length} (this site and its ${holders.length - 1} neighbours)`);
    }
    const selfShares = await split(plain(this.selfSeed), holders.length, this.params.threshold);
    const maskShares = await split(plain(this.mask.privateKey), holders.length, this.params.threshold);
    return holders.map((to, i) => {
      const key = agree(this.encryption, byId.get(to)!.encryptionKey, this.params.roundId, SHARE_PURPOSE);
      const text = Buffer.from(JSON.stringify({ from: this.siteId, to, round: this.params.roundId, self: Buffer.from(selfShares[i]).toString('base64'), mask: Buffer.from(maskShares[i]).toString('base64') }));
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(`${this.params.roundId}\u0000${this.siteId}\u0000${to}`));
      const body = Buffer.concat([c.update(text), c.final()]);
      return { from: this.siteId, to, ciphertext: Buffer.concat([iv, body, c.getAuthTag()]) };
    });
  }

  /**
   * The masked input: x + PRG(b) ± PRG(s_ij) for every neighbour j that shared its keys (`sharers`),
   * modulo 2^32. `x` is not modified.
   */
  maskInput(x: Uint32Array, sharers: readonly string[]): Uint32Array {
    const { roster, graph } = this.ready();
    const y = Uint32Array.from(x);
    addMask(y, this.selfSeed, 1);
    const live = new Set(sharers);
    for (const j of graph.get(this.siteId) ?? []) {
      if (!live.has(j)) continue;
      addMask(y, agree(this.mask, roster.get(j)!.maskKey, this.params.roundId, MASK_PURPOSE), pairSign(this.siteId, j));
    }
    return y;
  }

  /**
   * Reveals, for each owner whose share bundle this site holds, the self-seed share if the owner's
   * input is in the sum (`survivors`) or the mask-key share if it dropped (`dropped`). Refuses a
   * request that names one owner in both (that would let the server unmask a single input).
   */
  reveal(survivors: readonly string[], dropped: readonly string[], incoming: readonly EncryptedShare[]): RevealedShare[] {
    const { roster } = this.ready();
    const s = new Set(survivors);
    const d = new Set(dropped);
    for (const id of s) if (d.has(id)) throw new SecAggError(`site ${id} is named both as a survivor and as dropped: refusing to reveal both of its secrets`);
    const out: RevealedShare[] = [];
    for (const e of incoming) {
      if (e.to !== this.siteId) throw new SecAggError(`a share addressed to ${e.to} was delivered to ${this.siteId}`);
      const sender = roster.get(e.from);
      if (!sender) throw new SecAggError(`a share from ${e.from}, who is not in the round's roster`);
      if (!s.has(e.from) && !d.has(e.from)) continue;
      const key = agree(this.encryption, sender.encryptionKey, this.params.roundId, SHARE_PURPOSE);
      const buf = Buffer.from(e.ciphertext);
      const dec = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
      dec.setAAD(Buffer.from(`${this.params.roundId}\u0000${e.from}\u0000${this.siteId}`));
      dec.setAuthTag(buf.subarray(buf.length - 16));
      let bundle: { from: string; to: string; round: string; self: string; mask: string };
      try {
        bundle = JSON.parse(Buffer.concat([dec.update(buf.subarray(12, buf.length - 16)), dec.final()]).toString('utf8'));
      } catch {
        throw new SecAggError(`the share from ${e.from} does not decrypt: altered in transit or not for this round`);
      }
      if (bundle.from !== e.from || bundle.to !== this.siteId || bundle.round !== this.params.roundId) throw new SecAggError(`the share from ${e.from} names another sender, holder or round`);
      const survived = s.has(e.from);
      out.push({ holder: this.siteId, owner: e.from, secret: survived ? 'self' : 'mask', share: Buffer.from(survived ? bundle.self : bundle.mask, 'base64') });
    }
    return out;
  }

  private ready() {
    if (!this.roster || !this.graph) throw new SecAggError('shareKeys() must come first: the roster is not known yet');
    return { roster: this.roster, graph: this.graph };
  }
}

/**
 * The server's last step: removes from the sum of the survivors' masked inputs their self masks and
 * the pairwise masks they share with sites that dropped after sharing keys. `sharers` = the sites
 * whose share bundles were distributed (U2); `survivors` (U3 ⊆ U2) = those whose masked inputs
 * are in `maskedSum`. Throws, naming the owner, when fewer than `threshold` shares of a needed secret
 * came back or a reconstructed secret does not match what its owner advertised.
 */
export async function unmaskSum(
  maskedSum: Uint32Array,
  roster: readonly Advertisement[],
  sharers: readonly string[],
  survivors: readonly string[],
  revealed: readonly RevealedShare[],
  params: SecAggParams,
): Promise<Uint32Array> {
  const byId = checkRoster(roster);
  const graph = neighbours([...byId.keys()], params.roundId, params.neighbours);
  const s = new Set(survivors);
  for (const id of s) if (!sharers.includes(id)) throw new SecAggError(`survivor ${id} never shared its keys`);
  const dropped = sharers.filter((id) => !s.has(id));
  const sharesOf = (owner: string, secret: 'self' | 'mask') => {
    const allowed = new Set(holdersOf(owner, graph));
    const got = new Map<string, Uint8Array>();
    for (const r of revealed) if (r.owner === owner && r.secret === secret && allowed.has(r.holder)) got.set(r.holder, r.share);
    if (got.size < params.threshold) throw new SecAggError(`only ${got.size} of the ${params.threshold} shares needed to recover site ${owner}'s ${secret === 'self' ? 'self mask' : 'mask key'} came back`);
    return [...got.values()].map(plain);
  };
  const sum = Uint32Array.from(maskedSum);
  for (const owner of s) {
    const seed = await combine(sharesOf(owner, 'self'));
    if (Buffer.compare(createHash('sha256').update(seed).digest(), Buffer.from(byId.get(owner)!.selfSeedHash)) !== 0) {
      throw new SecAggError(`the self mask recovered for site ${owner} does not match its commitment: a share was wrong`);
    }
    addMask(sum, seed, -1);
  }
  for (const owner of dropped) {
    const adv = byId.get(owner)!;
    const maskKey: KeyPair = { privateKey: await combine(sharesOf(owner, 'mask')), publicKey: adv.maskKey };
    if (Buffer.compare(Buffer.from(publicKeyOf(maskKey.privateKey)), Buffer.from(adv.maskKey)) !== 0) {
      throw new SecAggError(`the mask key recovered for dropped site ${owner} does not match its advertised public key: a share was wrong`);
    }
    for (const k of graph.get(owner) ?? []) {
      if (!s.has(k)) continue;
      // Survivor k added pairSign(k, owner) · PRG(s_k,owner): take it out.
      addMask(sum, agree(maskKey, byId.get(k)!.maskKey, params.roundId, MASK_PURPOSE), pairSign(k, owner) === 1 ? -1 : 1);
    }
  }
  return sum;
}

/** Adds a masked input into a running sum (modulo 2^32). */
export function addInto(sum: Uint32Array, masked: Uint32Array): void {
  if (sum.length !== masked.length) throw new SecAggError(`a masked input of ${masked.length} words does not fit a sum of ${sum.length}`);
  for (let i = 0; i < sum.length; i++) sum[i] += masked[i];
}
