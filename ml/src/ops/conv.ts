import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import type { LowerCtx, OpRule } from './types';
import { fmt, meta, requireFloat } from './util';

export type ConvAttrs = {
  readonly strides: readonly number[];
  /** [top, left, bottom, right] */
  readonly pads: readonly number[];
  readonly dilations: readonly number[];
  readonly group: number;
  /** ConvTranspose only. */
  readonly outputPadding?: readonly number[];
};

/** Every attribute spelled out, kernel_shape included: the spec lets a runtime infer it from the
 * weights, but some (OpenCV's DNN importer) require it. */
function convAttrs(ctxAttrs: ConvAttrs, kernel: readonly number[], transpose: boolean) {
  const a: Record<string, { ints: readonly number[] } | { i: number }> = {
    kernel_shape: { ints: kernel },
    strides: { ints: ctxAttrs.strides },
    pads: { ints: ctxAttrs.pads },
    dilations: { ints: ctxAttrs.dilations },
    group: { i: ctxAttrs.group },
  };
  if (transpose) a.output_padding = { ints: ctxAttrs.outputPadding ?? [0, 0] };
  return a;
}

const lowerConv = (op: string) => (ctx: LowerCtx, node: Tensor, o: string) =>
  void ctx.emit(op, node.inputs.map((t) => ctx.name(t)), [o], convAttrs(node.attrs as ConvAttrs, node.inputs[1].shape.slice(2), op === 'ConvTranspose'));

export const convRules = {
  conv: {
    shape: ([x, w], attrs) => {
      const a = attrs as ConvAttrs;
      requireFloat(x), requireFloat(w);
      if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error('conv needs NCHW input and [out, in/groups, kh, kw] weights');
      if (x.shape[1] !== w.shape[1] * a.group || w.shape[0] % a.group !== 0) {
        throw new Error(`input has ${x.shape[1]} channels, weights ${fmt(w.shape)} with ${a.group} group(s) expect ${w.shape[1] * a.group}`);
      }
      const out = [0, 1].map((i) => {
        const span = a.dilations[i] * (w.shape[2 + i] - 1) + 1;
        return Math.floor((x.shape[2 + i] + a.pads[i] + a.pads[i + 2] - span) / a.strides[i]) + 1;
      });
      if (out.some((d) => d < 1)) throw new Error('the kernel is larger than the padded input');
      return meta([x.shape[0], w.shape[0], out[0], out[1]], x.dtype);
    },
    lower: lowerConv('Conv'),
    backward: (g, n) => [convInputGrad(g, n), convWeightGrad(g, n)],
  } satisfies OpRule,

  convTranspose: {
    shape: ([x, w], attrs) => {
      const a = attrs as ConvAttrs;
      requireFloat(x), requireFloat(w);
      if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error('convTranspose needs NCHW input and [in, out/groups, kh, kw] weights');
      if (x.shape[1] !== w.shape[0]) throw new Error(`input has ${x.shape[1]} channels, weights ${fmt(w.shape)} expect ${w.shape[0]}`);
      const op = a.outputPadding ?? [0, 0];
      const out = [0, 1].map(
        (i) => a.strides[i] * (x.shape[2 + i] - 1) + op[i] + a.dilations[i] * (w.shape[2 + i] - 1) + 1 - a.pads[i] - a.pads[i + 2],
      );
      return meta([x.shape[0], w.shape[1] * a.group, out[0], out[1]], x.dtype);
    },
    lower: lowerConv('ConvTranspose'),
    backward: (g, n) => {
      const a = n.attrs as ConvAttrs;
      const [x, w] = n.inputs;
      if (a.group !== 1) throw new Error('convTranspose: gradients need group = 1');
      const dX = F.conv2d(g, w, { stride: a.strides, padding: a.pads, dilation: a.dilations });
      const dW = tapCorrelation(g, x, [w.shape[2], w.shape[3]], a, 1);
      return [dX, dW];
    },
  } satisfies OpRule,
};

/** dX of a convolution. Stride 1: a Conv of dY with the spatially flipped, channel-transposed
 * weights (measured faster than ConvTranspose in ORT). Otherwise ConvTranspose, its adjoint. */
function convInputGrad(g: Tensor, n: Tensor): Tensor {
  const a = n.attrs as ConvAttrs;
  const [x, w] = n.inputs;
  const [co, cig, kh, kw] = w.shape;
  const k = [kh, kw];
  const reach = [0, 1].map((i) => a.dilations[i] * (k[i] - 1));
  const pads = [reach[0] - a.pads[0], reach[1] - a.pads[1], reach[0] - a.pads[2], reach[1] - a.pads[3]];
  if (a.strides.every((s) => s === 1) && pads.every((p) => p >= 0)) {
    const G = a.group;
    let wt = F.reshape(w, [G, co / G, cig, kh, kw]);
    wt = F.reshape(F.transpose(wt, [0, 2, 1, 3, 4]), [G * cig, co / G, kh, kw]);
    return F.conv2d(g, F.flip(wt, [2, 3]), { padding: pads, dilation: a.dilations, groups: G });
  }
  const outputPadding = [0, 1].map(
    (i) => x.shape[2 + i] - (a.strides[i] * (g.shape[2 + i] - 1) + reach[i] + 1 - a.pads[i] - a.pads[i + 2]),
  );
  return F.convTranspose2d(g, w, { stride: a.strides, padding: a.pads, dilation: a.dilations, groups: a.group, outputPadding });
}

/** dW of a convolution: one Gemm per kernel tap on shifted (strided) slices of X. */
function convWeightGrad(g: Tensor, n: Tensor): Tensor {
  const a = n.attrs as ConvAttrs;
  const [x, w] = n.inputs;
  return tapCorrelation(x, g, [w.shape[2], w.shape[3]], a, a.group);
}

/** result[cb, ca, i, j] = sum over n, h, w of b[n, cb, h, w] * pad(a)[n, ca, h*s + i*d, w*s + j*d]
 * (per group), the correlation both conv weight gradients reduce to. */
export function tapCorrelation(a: Tensor, b: Tensor, k: readonly number[], attrs: ConvAttrs, group: number): Tensor {
  const { strides: s, dilations: d, pads } = attrs;
  const need = [0, 1].map((i) => (b.shape[2 + i] - 1) * s[i] + d[i] * (k[i] - 1) + 1);
  const endPad = [0, 1].map((i) => Math.max(0, need[i] - a.shape[2 + i] - pads[i]));
  const framePads = [pads[0], pads[1], endPad[0], endPad[1]];
  if (group === 1 && s.every((v) => v === 1)) return flatShiftCorrelation(a, b, k, d, framePads);
  return slicedTapCorrelation(a, b, k, attrs, group, framePads);
}

/** tapCorrelation at stride 1 and one group, with one long contiguous copy per tap rather than a
 * strided 4-D slice. a (padded) and b (zero-filled to a's frame) are laid out [C, N*Hp*Wp]; in
 * that flat layout the tap (i, j) is a shift by o = i*d*Wp + j*d, and a shifted pixel of b's
 * frame lands in the same row and image (the frame's margin holds the kernel's reach, b is zero
 * there). So each tap is one Gemm of b's rows against a's rows moved o along. Only the operand
 * with fewer channels is copied per tap; the other is read in place. One zero image appended to a
 * (or prepended to b) keeps every shifted window inside the tensor. Against strided slices, on 2
 * cores at 64 px: 7-12 % off a segmenter step, 15-24 % off the replay generator's; at 32x40 the
 * gain is inside the machine's noise (A/B in docs/session-notes/2026-12-05-session32). */
function flatShiftCorrelation(a: Tensor, b: Tensor, k: readonly number[], d: readonly number[], framePads: readonly number[]): Tensor {
  const [N, Ca, Ha, Wa] = a.shape;
  const [, Cb, Hb, Wb] = b.shape;
  const [Hp, Wp] = [Ha + framePads[0] + framePads[2], Wa + framePads[1] + framePads[3]];
  const offsets: number[] = [];
  for (let i = 0; i < k[0]; i++) for (let j = 0; j < k[1]; j++) offsets.push(i * d[0] * Wp + j * d[1]);
  const spare = offsets.some((o) => o > 0) ? 1 : 0; // the zero image shifted windows reach into
  const slideB = Cb < Ca;
  const L = N * Hp * Wp;
  const image = Hp * Wp;
  // [C, N, H, W] frames, flattened to [C, (N + spare) * Hp * Wp].
  const aRows = F.pad(F.transpose(a, [1, 0, 2, 3]), [0, 0, framePads[0], framePads[1], 0, slideB ? 0 : spare, framePads[2], framePads[3]]);
  const bRows = F.pad(F.transpose(b, [1, 0, 2, 3]), [0, slideB ? spare : 0, 0, 0, 0, 0, Hp - Hb, Wp - Wb]);
  const aFlat = F.reshape(aRows, [Ca, aRows.size / Ca]);
  const bFlat = F.reshape(bRows, [Cb, bRows.size / Cb]);
  const window = (t: Tensor, start: number) => (start === 0 && t.shape[1] === L ? t : F.slice(t, [1], [start], [start + L]));
  const taps = offsets.map((o) => {
    const tap = slideB
      ? F.gemm(window(bFlat, spare * image - o), aFlat, { transB: true })
      : F.gemm(bFlat, window(aFlat, o), { transB: true }); // [Cb, Ca]
    return F.reshape(tap, [Cb, Ca, 1]);
  });
  return stackTaps(taps, [Cb, Ca, k[0], k[1]]);
}

/** tapCorrelation in general (strides, groups): one Gemm per kernel tap on shifted, strided slices of a. */
function slicedTapCorrelation(a: Tensor, b: Tensor, k: readonly number[], attrs: ConvAttrs, group: number, framePads: readonly number[]): Tensor {
  const [N, Ca] = a.shape;
  const [, Cb, Hb, Wb] = b.shape;
  const { strides: s, dilations: d } = attrs;
  let ap = F.transpose(a, [1, 0, 2, 3]); // [Ca, N, H, W]: one transpose, then k*k slices
  ap = F.pad(ap, [0, 0, framePads[0], framePads[1], 0, 0, framePads[2], framePads[3]]);
  const M = N * Hb * Wb;
  const bT = F.reshape(F.transpose(b, [1, 0, 2, 3]), group === 1 ? [Cb, M] : [group, Cb / group, M]);
  const taps: Tensor[] = [];
  for (let i = 0; i < k[0]; i++) {
    for (let j = 0; j < k[1]; j++) {
      const st = [i * d[0], j * d[1]];
      const shifted = F.slice(ap, [2, 3], st, [st[0] + (Hb - 1) * s[0] + 1, st[1] + (Wb - 1) * s[1] + 1], [s[0], s[1]]);
      let tap: Tensor;
      if (group === 1) {
        tap = F.gemm(bT, F.reshape(shifted, [Ca, M]), { transB: true }); // [Cb, Ca]
      } else {
        const aT = F.transpose(F.reshape(shifted, [group, Ca / group, M]), [0, 2, 1]);
        tap = F.matmul(bT, aT); // [G, Cb/G, Ca/G]
      }
      taps.push(F.reshape(tap, [Cb, Ca / group, 1]));
    }
  }
  return stackTaps(taps, [Cb, Ca / group, k[0], k[1]]);
}

/** The taps' [Cb, Ca, 1] results, in kernel order, as the weight gradient [Cb, Ca, kh, kw]. */
function stackTaps(taps: readonly Tensor[], shape: readonly number[]): Tensor {
  return F.reshape(taps.length === 1 ? taps[0] : F.concat(taps, 2), shape);
}
