import { ApiError } from '../../../core/http/errors.js';

/**
 * How the network client refuses compute's requests: core's ApiError by status and message,
 * which compute answers unchanged in Nova's error shape (compute/peers.ts declares it so). The
 * client chooses Nova's status and wording itself, as Nova translates Neutron's answers.
 */
export const badRequest = (message: string) => new ApiError(400, message);
export const forbidden = (message: string) => new ApiError(403, message);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string) => new ApiError(409, message);
