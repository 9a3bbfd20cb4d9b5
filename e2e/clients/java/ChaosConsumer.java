// A consumer-group member for the cluster fault loop (e2e/suites/cluster-fault-loop.mjs). Unlike E2eClient's
// consume-group, it must survive brokers dying under it: commits are asynchronous and a failed commit or poll is
// logged and the loop goes on (a re-delivery after a lost commit is allowed; the checker only requires that what was
// read is still in the log, unchanged). Rows go to --out in the records.mjs consumed format.
//
//   ChaosConsumer --bootstrap B --topic T --group G --out F --stop-file F [--session-timeout-ms 10000]
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class ChaosConsumer {
  public static void main(String[] argv) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) a.put(argv[i].substring(2), argv[i + 1]);
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    p.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("group"));
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, a.getOrDefault("session-timeout-ms", "10000"));
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    p.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    Path stop = Path.of(a.get("stop-file"));
    long count = 0;
    long pollErrors = 0;
    long commitErrors[] = {0};
    long lastEvent = 0;
    try (Writer out = new OutputStreamWriter(new FileOutputStream(a.get("out"), true), StandardCharsets.US_ASCII);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(a.get("topic")));
      while (!Files.exists(stop)) {
        ConsumerRecords<byte[], byte[]> batch;
        try {
          batch = consumer.poll(Duration.ofMillis(300));
        } catch (RuntimeException e) {
          pollErrors++;
          System.err.println("poll failed (continuing): " + e);
          continue;
        }
        for (ConsumerRecord<byte[], byte[]> m : batch) {
          out.write(RecordLines.consumedRow(m));
          count++;
        }
        out.flush();
        if (!batch.isEmpty()) {
          consumer.commitAsync((offsets, err) -> {
            if (err != null) {
              commitErrors[0]++;
              System.err.println("commit failed (continuing): " + err);
            }
          });
        }
        long now = System.currentTimeMillis();
        if (now - lastEvent > 1000) {
          lastEvent = now;
          System.out.println("EVENT {\"kind\":\"progress\",\"count\":" + count + "}");
          System.out.flush();
        }
      }
      try {
        consumer.commitSync(Duration.ofSeconds(10));
      } catch (RuntimeException e) {
        System.err.println("final commit failed: " + e);
      }
    }
    System.out.println("EVENT {\"kind\":\"closed\",\"count\":" + count + ",\"pollErrors\":" + pollErrors + ",\"commitErrors\":" + commitErrors[0] + "}");
    System.exit(0);
  }
}
