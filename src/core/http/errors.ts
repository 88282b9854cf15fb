import { describeSchemaFailure, type SchemaFailure } from './route-schemas.js';

/**
 * A failure that reaches the client as a 4xx/5xx. Services throw these; each service's
 * plugin renders them in its own OpenStack error shape (Keystone, Nova, Neutron, ...).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Machine-readable kind some shapes carry (Neutron's `type`, e.g. `NetworkNotFound`). */
    readonly kind?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return STATUS_TITLES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
}

export const badRequest = (message: string, kind?: string) => new ApiError(400, message, kind);
export const unauthorized = (message = 'The request you have made requires authentication.') =>
  new ApiError(401, message);
export const forbidden = (message: string) => new ApiError(403, message);
export const notFound = (message: string, kind?: string) => new ApiError(404, message, kind);
export const conflict = (message: string, kind?: string) => new ApiError(409, message, kind);

/** Normalises anything thrown while serving a request into an ApiError (500 for the unexpected). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyLike = error as { statusCode?: unknown; message?: unknown; code?: unknown; validation?: unknown };
  if (typeof fastifyLike?.statusCode === 'number' && fastifyLike.statusCode >= 400 && fastifyLike.statusCode < 500) {
    return new ApiError(fastifyLike.statusCode, describeFrameworkError(fastifyLike));
  }
  if (error instanceof Error && error.name === 'PolicyNotAuthorized') return new ApiError(403, error.message);
  return new ApiError(500, 'An unexpected error prevented the server from fulfilling your request.');
}

function describeFrameworkError(error: { message?: unknown; code?: unknown; validation?: unknown; validationContext?: unknown }): string {
  const message = typeof error.message === 'string' ? error.message : 'Invalid request';
  switch (error.code) {
    case 'FST_ERR_VALIDATION': {
      // A route's declared schema refused the request (route-schemas.ts): name the field.
      const first = Array.isArray(error.validation) ? (error.validation[0] as SchemaFailure | undefined) : undefined;
      const context = typeof error.validationContext === 'string' ? error.validationContext : 'body';
      return first ? describeSchemaFailure(first, context) : message;
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Malformed request body: the body could not be parsed as JSON.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'The request content type is not supported.';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is too large.';
    default:
      return message;
  }
}
