/**
 * Thrown for malformed wire input (truncated frames, impossible lengths, bad varints)
 * and for values that cannot be encoded (e.g. null in a non-nullable field).
 * The broker maps it to a closed connection (bad framing) or CORRUPT_MESSAGE.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(message: string) {
    super(message);
  }
}
