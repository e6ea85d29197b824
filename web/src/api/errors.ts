// Errors of the API's envelope: `{success:false, error:{code, message, details}}`.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

export function toApiError(body: unknown, status: number): ApiError {
  const error = (body as ErrorBody | undefined)?.error;
  if (error?.code) return new ApiError(error.code, error.message ?? error.code, status, error.details ?? {});
  if (status === 0) return new ApiError('NETWORK_ERROR', 'network error', 0);
  return new ApiError(status >= 500 ? 'INTERNAL_ERROR' : 'UNKNOWN_ERROR', `HTTP ${status}`, status);
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}
