/** How many of a server group's members each host runs; memberHosts has one entry per member. */
export function countMembersPerHost(memberHosts: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const host of memberHosts) counts.set(host, (counts.get(host) ?? 0) + 1);
  return counts;
}
