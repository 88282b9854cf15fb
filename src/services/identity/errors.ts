import { ApiError } from '../../core/http/errors.js';

/** Keystone's words for the failures its domain logic raises. */

export function notFoundError(kind: string, id: string): ApiError {
  return new ApiError(404, `Could not find ${kind}: ${id}.`);
}

export function duplicateError(kind: string, name: string): ApiError {
  return new ApiError(409, `Conflict occurred attempting to store ${kind} - Duplicate entry found with name ${name}.`);
}
