import { STATUS_TITLES } from '../../core/http/errors.js';

/** A refusal as Swift words it: status, an optional plain sentence, extra headers. */
export class SwiftError extends Error {
  constructor(
    readonly status: number,
    readonly body?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(body ?? `HTTP ${status}`);
    this.name = 'SwiftError';
  }
}

/** Swift's default error bodies (swob's), which clients show as they are. */
const DEFAULT_BODIES: Record<number, string> = {
  401: 'This server could not verify that you are authorized to access the document you requested.',
  403: 'Access was denied to this resource.',
  404: 'The resource could not be found.',
  409: 'There was a conflict when trying to complete your request.',
  411: 'Length Required',
  412: 'A precondition for this request was not met.',
  413: 'The body of your request was too large for this server.',
  416: 'The Range requested is not available.',
  422: 'The entity could not be processed.',
  499: 'The client disconnected before the request completed.',
  503: 'The server is currently unavailable. Please try again at a later time.',
};

export function statusText(status: number): string {
  return STATUS_TITLES[status] ?? (status === 499 ? 'Client Disconnect' : status === 422 ? 'Unprocessable Entity' : status === 416 ? 'Requested Range Not Satisfiable' : 'Error');
}

/** swob's HTML error page, or the plain sentence a handler gave. */
export function errorBody(error: SwiftError): string {
  if (error.body !== undefined) return error.body;
  return `<html><h1>${statusText(error.status)}</h1><p>${DEFAULT_BODIES[error.status] ?? ''}</p></html>`;
}

export const badRequest = (body: string) => new SwiftError(400, body);
export const notFound = () => new SwiftError(404);
export const preconditionFailed = (body?: string) => new SwiftError(412, body);
