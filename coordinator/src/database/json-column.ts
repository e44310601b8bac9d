/**
 * JSON columns with a type: a value is written through toJsonColumn, whose argument type must survive
 * JSON (no functions, dates, bigints or class instances: checked by the compiler), and read back
 * through readJsonColumn with a guard that checks its shape, so a row that is not what its column
 * holds is an error naming the row rather than a wrong value travelling on.
 */
import type { Prisma } from '../generated/prisma/client';

/**
 * T when every part of it is plain JSON data; never (a type error at the call) otherwise. A part
 * typed `unknown` (settings passed through as they were read) is taken as it is.
 */
export type JsonSafe<T> = unknown extends T
  ? T
  : T extends string | number | boolean | null | undefined
  ? T
  : T extends (...args: never[]) => unknown
    ? never
    : T extends bigint | symbol | Date | Map<unknown, unknown> | Set<unknown> | Uint8Array
      ? never
      : T extends readonly (infer U)[]
        ? readonly JsonSafe<U>[]
        : T extends object
          ? { readonly [K in keyof T]: JsonSafe<T[K]> }
          : never;

/** A JSON-safe value as Prisma's input type for a Json column. */
export function toJsonColumn<T>(value: T & JsonSafe<T>): Prisma.InputJsonValue {
  // JsonSafe<T> has proved the shape; Prisma's own type cannot express an interface without an index signature.
  return value as Prisma.InputJsonValue;
}

/** The column's value as a T, or an error naming the row, the column and what is wrong (`problem` says why a value is not a T, or null). */
export function readJsonColumn<T>(value: Prisma.JsonValue, problem: (value: unknown) => string | null, where: string): T {
  const wrong = problem(value);
  if (wrong !== null) throw new Error(`${where} is not what the column holds: ${wrong}`);
  return value as T;
}

/** An object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why `value` is not an object with these fields of these JSON types ('array' for arrays), or null. */
export function fieldsProblem(value: unknown, fields: Record<string, 'string' | 'number' | 'object' | 'array'>): string | null {
  if (!isJsonObject(value)) return `expected an object, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`;
  for (const [name, type] of Object.entries(fields)) {
    const v = value[name];
    const ok = type === 'array' ? Array.isArray(v) : type === 'object' ? isJsonObject(v) : typeof v === type;
    if (!ok) return `${name} should be ${type === 'array' ? 'an array' : `a${type === 'object' ? 'n' : ''} ${type}`}`;
  }
  return null;
}
