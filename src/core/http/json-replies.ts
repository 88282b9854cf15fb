import type { FastifyInstance } from 'fastify';
import { pace } from '../cooperative.js';

/** Replies holding an array at least this long are serialized in turns; smaller ones in one go. */
export const BIG_ARRAY = 256;

/**
 * JSON replies with a big list in them (every port, every server...) are serialized item by
 * item in turns (core/cooperative.ts) instead of by one JSON.stringify that would hold the
 * event loop for the whole body. The result is the same text JSON.stringify would give.
 */
export function serializeBigRepliesInTurns(app: FastifyInstance): void {
  app.addHook('preSerialization', async (_request, reply, payload: unknown) => {
    if (!holdsBigArray(payload)) return payload;
    const text = await stringifyInTurns(payload);
    // Already JSON: the reply sends it as it is.
    reply.serializer((serialized: unknown) => serialized as string);
    return text;
  });
}

function holdsBigArray(payload: unknown): boolean {
  if (Array.isArray(payload)) return payload.length >= BIG_ARRAY;
  if (!isPlainObject(payload)) return false;
  for (const key in payload) {
    const value = payload[key];
    if (Array.isArray(value) && value.length >= BIG_ARRAY) return true;
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** JSON.stringify(value), with the big arrays at the top level (or one level down) done in turns. */
export async function stringifyInTurns(value: unknown): Promise<string> {
  if (Array.isArray(value)) return arrayInTurns(value);
  if (!isPlainObject(value)) return JSON.stringify(value);
  const members: string[] = [];
  for (const key of Object.keys(value)) {
    const member = value[key];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    const text = Array.isArray(member) && member.length >= BIG_ARRAY ? await arrayInTurns(member) : JSON.stringify(member);
    members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

async function arrayInTurns(items: readonly unknown[]): Promise<string> {
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    // As inside JSON.stringify: what has no JSON form is null in an array.
    parts[i] = JSON.stringify(items[i]) ?? 'null';
    const pause = pace();
    if (pause) await pause;
  }
  return `[${parts.join(',')}]`;
}
