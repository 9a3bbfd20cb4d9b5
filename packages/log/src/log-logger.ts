/** Structured logger, pino-compatible (`logger.warn({ ...fields }, 'message')`); the package does not depend on pino. */
export interface LogLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export const silentLogger: LogLogger = { info() {}, warn() {}, error() {} };
