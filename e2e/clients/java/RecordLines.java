// The Java side of e2e/lib/records.mjs's line format, shared by E2eClient and ChaosConsumer: hex fields, `-` for
// null; a consumed row is `partition\toffset\tkey\tvalue\theaders` with headers as `key:value` pairs joined by `,`.
import java.nio.charset.StandardCharsets;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

final class RecordLines {
  private RecordLines() {}

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  static byte[] unhex(String s) {
    if (s.equals("-")) return null;
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  static void hex(StringBuilder sb, byte[] b) {
    if (b == null) {
      sb.append('-');
      return;
    }
    for (byte x : b) sb.append(HEX[(x >> 4) & 15]).append(HEX[x & 15]);
  }

  /** One consumed row, newline included. */
  static String consumedRow(ConsumerRecord<byte[], byte[]> m) {
    StringBuilder sb = new StringBuilder();
    sb.append(m.partition()).append('\t').append(m.offset()).append('\t');
    hex(sb, m.key());
    sb.append('\t');
    hex(sb, m.value());
    sb.append('\t');
    boolean first = true;
    for (Header h : m.headers()) {
      if (!first) sb.append(',');
      first = false;
      hex(sb, h.key().getBytes(StandardCharsets.UTF_8));
      sb.append(':');
      hex(sb, h.value());
    }
    return sb.append('\n').toString();
  }
}
