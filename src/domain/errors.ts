// Error classes shared by every layer. The HTTP error handler maps each class to one status code;
// anything else reaching it is a bug (500).

/** One problem with one field of an input. `path` is a JSON pointer ("" for the whole document). */
export interface FieldError {
  path: string;
  message: string;
  /** 1-based position in the source text, when the input came from a file or a text body. */
  line?: number;
  col?: number;
  /** Set on the one entry that stands for errors not reported (see tidyErrors): how many. */
  omitted?: number;
}

export class ControlPlaneError extends Error {
  constructor(message: string, readonly details: FieldError[] = []) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input is invalid (400 / a file error). `details` lists every error at once. */
export class ValidationError extends ControlPlaneError {}
/** 400 PolicyViolation: an admission policy with action deny refused the write (`details`: one per broken rule). */
export class PolicyViolationError extends ValidationError {}
/** 401: no valid credentials. */
export class UnauthorizedError extends ControlPlaneError {}
/** 403: authenticated, but not allowed. */
export class ForbiddenError extends ControlPlaneError {}
/** 404 */
export class NotFoundError extends ControlPlaneError {}
/** 409: the write conflicts with the state (e.g. another manager owns the resource). */
export class ConflictError extends ControlPlaneError {}
/** 412: If-Match did not match the current resourceVersion (or generation). */
export class PreconditionFailedError extends ControlPlaneError {}
/** 413 */
export class PayloadTooLargeError extends ControlPlaneError {}
/** 415 */
export class UnsupportedMediaTypeError extends ControlPlaneError {}
/** 502: a server the control plane talked to on the caller's behalf answered wrong or not at all (the message says which). */
export class UpstreamFailedError extends ControlPlaneError {}
/** 429; the HTTP layer sends Retry-After. */
export class TooManyRequestsError extends ControlPlaneError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
