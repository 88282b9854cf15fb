/** Python's isoformat of a naive UTC time, as Nova's JSON prints datetimes: microseconds only when there are some. */
export function novaIsoTime(at: Date): string {
  const base = at.toISOString().slice(0, 19);
  const ms = at.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${String(ms).padStart(3, '0')}000`;
}
