import { newHexId } from '../../../core/ids.js';
import type { RevocationEvent } from '../model.js';
import type { CredentialStore } from '../store/credentials.js';

/** The facts about a token that revocation events are matched against. */
export interface RevocableToken {
  userId: string;
  projectId?: string;
  /** The scoped domain, the project's domain and the user's domain. */
  domainIds: string[];
  auditIds: string[];
  issuedAt: number;
}

export type RevocationSpec = Partial<Pick<RevocationEvent, 'userId' | 'projectId' | 'domainId' | 'auditId'>>;

/**
 * Keystone's revocation events, kept in memory and indexed so a validation costs a few
 * map look-ups. An event revokes every token issued at or before it whose fields match
 * all of the event's non-empty ones.
 */
export class RevocationList {
  private byAudit = new Map<string, RevocationEvent[]>();
  private byUser = new Map<string, RevocationEvent[]>();
  private byProject = new Map<string, RevocationEvent[]>();
  private byDomain = new Map<string, RevocationEvent[]>();

  constructor(
    private readonly store: CredentialStore,
    /** Events older than the longest token lifetime can no longer match anything. */
    private readonly retentionMs: number,
  ) {}

  async load(): Promise<void> {
    const since = Date.now() - this.retentionMs;
    await this.store.pruneRevocationEvents(since);
    const events = await this.store.listRevocationEvents(since);
    this.byAudit = new Map();
    this.byUser = new Map();
    this.byProject = new Map();
    this.byDomain = new Map();
    for (const event of events) this.index(event);
  }

  async revoke(spec: RevocationSpec): Promise<void> {
    const now = Date.now();
    const event: RevocationEvent = {
      id: newHexId(),
      userId: spec.userId ?? null,
      projectId: spec.projectId ?? null,
      domainId: spec.domainId ?? null,
      auditId: spec.auditId ?? null,
      issuedBefore: now,
      revokedAt: now,
    };
    await this.store.addRevocationEvent(event);
    this.index(event);
  }

  isRevoked(token: RevocableToken): boolean {
    const candidates: Array<RevocationEvent[] | undefined> = [this.byUser.get(token.userId)];
    for (const audit of token.auditIds) candidates.push(this.byAudit.get(audit));
    if (token.projectId) candidates.push(this.byProject.get(token.projectId));
    for (const domainId of token.domainIds) candidates.push(this.byDomain.get(domainId));
    for (const list of candidates) {
      if (list?.some((event) => matches(event, token))) return true;
    }
    return false;
  }

  private index(event: RevocationEvent): void {
    const key = event.auditId
      ? [this.byAudit, event.auditId]
      : event.userId
        ? [this.byUser, event.userId]
        : event.projectId
          ? [this.byProject, event.projectId]
          : event.domainId
            ? [this.byDomain, event.domainId]
            : undefined;
    if (!key) return;
    const [map, id] = key as [Map<string, RevocationEvent[]>, string];
    map.set(id, [...(map.get(id) ?? []), event]);
  }
}

function matches(event: RevocationEvent, token: RevocableToken): boolean {
  if (token.issuedAt > event.issuedBefore) return false;
  if (event.auditId && !token.auditIds.includes(event.auditId)) return false;
  if (event.userId && event.userId !== token.userId) return false;
  if (event.projectId && event.projectId !== token.projectId) return false;
  if (event.domainId && !token.domainIds.includes(event.domainId)) return false;
  return true;
}
