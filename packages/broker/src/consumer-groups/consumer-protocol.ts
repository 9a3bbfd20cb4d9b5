// Reads the topic list out of a "consumer" protocol member subscription (ConsumerProtocolSubscription,
// versions 0-3 all start with: version int16, topics array<string> with int32 count and int16 string lengths).
// Only used to know which topics a group subscribes to (offset retention, OffsetDelete). Never throws.

/** The subscribed topics, or null if the bytes are not a well-formed subscription. */
export function parseSubscribedTopics(subscription: Buffer): string[] | null {
  if (subscription.length < 6) return null;
  const version = subscription.readInt16BE(0);
  if (version < 0) return null;
  const count = subscription.readInt32BE(2);
  if (count < 0 || count > subscription.length) return null;
  const topics: string[] = [];
  let position = 6;
  for (let i = 0; i < count; i++) {
    if (position + 2 > subscription.length) return null;
    const length = subscription.readInt16BE(position);
    position += 2;
    if (length < 0 || position + length > subscription.length) return null;
    topics.push(subscription.toString('utf8', position, position + length));
    position += length;
  }
  return topics;
}

/** Encodes a v0 subscription (topics, no user data); for tests and tools. */
export function encodeSubscription(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(6);
  head.writeInt16BE(0, 0);
  head.writeInt32BE(topics.length, 2);
  parts.push(head);
  for (const topic of topics) {
    const bytes = Buffer.from(topic, 'utf8');
    const length = Buffer.alloc(2);
    length.writeInt16BE(bytes.length, 0);
    parts.push(length, bytes);
  }
  const userData = Buffer.alloc(4);
  userData.writeInt32BE(-1, 0);
  parts.push(userData);
  return Buffer.concat(parts);
}
