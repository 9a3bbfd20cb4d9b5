// Java client (org.apache.kafka:kafka-clients) for the e2e suites. File formats: e2e/lib/records.mjs (RecordLines.java).
//
//   produce        --records F --acks-out F [--acks all|1] [--idempotent true|false] [--partitions N] [--rate N]
//   consume-assign --partitions N --expect N --out F [--group G]
//                  (assign() + seekToBeginning; with --group: start at the group's committed offsets instead and
//                   commitSync() what was read at the end: the "simple" commit path, generation -1, no group membership)
//   consume-group  --group G --out F --stop-file F [--assignor range|cooperative-sticky|...] [--member ID]
//                  (subscribe; commitSync after processing each poll; prints EVENT {json} lines with the assignment)
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class E2eClient {
  private static final class Rec {
    byte[] key;
    byte[] value;
    List<Header> headers = new ArrayList<>();
  }

  private static List<Rec> readRecords(String path) throws IOException {
    List<Rec> out = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(Path.of(path), StandardCharsets.US_ASCII)) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isEmpty()) continue;
        String[] f = line.split("\t", -1);
        Rec rec = new Rec();
        rec.key = RecordLines.unhex(f[0]);
        rec.value = RecordLines.unhex(f[1]);
        if (!f[2].isEmpty()) {
          for (String pair : f[2].split(",")) {
            String[] kv = pair.split(":", -1);
            rec.headers.add(new RecordHeader(new String(RecordLines.unhex(kv[0]), StandardCharsets.UTF_8), RecordLines.unhex(kv[1])));
          }
        }
        out.add(rec);
      }
    }
    return out;
  }

  private static Writer appendFile(String path) throws IOException {
    return new OutputStreamWriter(new FileOutputStream(path, true), StandardCharsets.US_ASCII);
  }

  private static synchronized void event(String json) {
    System.out.println("EVENT " + json);
    System.out.flush();
  }

  private static String partitionsJson(Collection<Integer> ps) {
    StringBuilder sb = new StringBuilder("[");
    for (int p : new TreeSet<>(ps)) sb.append(sb.length() > 1 ? "," : "").append(p);
    return sb.append(']').toString();
  }

  private static int produce(Map<String, String> a) throws Exception {
    List<Rec> records = readRecords(a.get("records"));
    String topic = a.get("topic");
    int partitions = Integer.parseInt(a.getOrDefault("partitions", "1"));
    double rate = Double.parseDouble(a.getOrDefault("rate", "0"));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    p.put(ProducerConfig.ACKS_CONFIG, a.getOrDefault("acks", "all"));
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, a.getOrDefault("idempotent", "true"));
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, a.getOrDefault("delivery-timeout-ms", "120000"));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "100");
    p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    if (!"true".equals(a.getOrDefault("idempotent", "true"))) p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long started = System.nanoTime();
    try (Writer acks = appendFile(a.get("acks-out"));
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < records.size(); i++) {
        if (rate > 0) {
          long aheadNs = (long) (i / rate * 1e9) - (System.nanoTime() - started);
          if (aheadNs > 0) Thread.sleep(aheadNs / 1_000_000, (int) (aheadNs % 1_000_000));
        }
        Rec r = records.get(i);
        final int index = i;
        producer.send(new ProducerRecord<>(topic, i % partitions, null, r.key, r.value, r.headers), (md, err) -> {
          synchronized (acks) {
            try {
              if (err != null) {
                failed.incrementAndGet();
                acks.write(index + "\tERR\t" + String.valueOf(err).replace('\t', ' ').replace('\n', ' ') + "\n");
              } else {
                ok.incrementAndGet();
                acks.write(index + "\t" + md.partition() + "\t" + md.offset() + "\n");
              }
              acks.flush();
            } catch (IOException e) {
              throw new RuntimeException(e);
            }
          }
        });
      }
      producer.flush();
    }
    event("{\"kind\":\"produced\",\"ok\":" + ok.get() + ",\"failed\":" + failed.get() + "}");
    return ok.get() == records.size() ? 0 : 1;
  }

  private static Properties consumerProps(Map<String, String> a) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return p;
  }

  private static int consumeAssign(Map<String, String> a) throws Exception {
    String topic = a.get("topic");
    Properties props = consumerProps(a);
    if (a.containsKey("group")) props.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("group"));
    int partitions = Integer.parseInt(a.getOrDefault("partitions", "1"));
    long expect = Long.parseLong(a.get("expect"));
    long deadline = System.currentTimeMillis() + (long) (Double.parseDouble(a.getOrDefault("timeout-s", "60")) * 1000);
    long count = 0;
    try (Writer out = appendFile(a.get("out"));
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
      consumer.assign(tps);
      if (!a.containsKey("group")) consumer.seekToBeginning(tps);
      while (count < expect && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> m : consumer.poll(Duration.ofMillis(500))) {
          out.write(RecordLines.consumedRow(m));
          count++;
        }
        out.flush();
      }
      if (a.containsKey("group")) consumer.commitSync();
    }
    event("{\"kind\":\"consumed\",\"count\":" + count + "}");
    return count >= expect ? 0 : 1;
  }

  private static int consumeGroup(Map<String, String> a) throws Exception {
    String topic = a.get("topic");
    Path stop = Path.of(a.get("stop-file"));
    Properties p = consumerProps(a);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("group"));
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, a.getOrDefault("member", "e2e-java-member"));
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, a.getOrDefault("session-timeout-ms", "10000"));
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    String assignor = a.getOrDefault("assignor", "range");
    String cls = switch (assignor) {
      case "range" -> "org.apache.kafka.clients.consumer.RangeAssignor";
      case "roundrobin" -> "org.apache.kafka.clients.consumer.RoundRobinAssignor";
      case "sticky" -> "org.apache.kafka.clients.consumer.StickyAssignor";
      case "cooperative-sticky" -> "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
      default -> throw new IllegalArgumentException("unknown assignor " + assignor);
    };
    p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, cls);
    TreeSet<Integer> assignment = new TreeSet<>();
    long count = 0;
    try (Writer out = appendFile(a.get("out"));
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
          for (TopicPartition tp : parts) assignment.remove(tp.partition());
          event("{\"kind\":\"assignment\",\"partitions\":" + partitionsJson(assignment) + "}");
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
          for (TopicPartition tp : parts) assignment.add(tp.partition());
          event("{\"kind\":\"assignment\",\"partitions\":" + partitionsJson(assignment) + "}");
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> parts) {
          for (TopicPartition tp : parts) assignment.remove(tp.partition());
          event("{\"kind\":\"lost\",\"partitions\":" + partitionsJson(assignment) + "}");
        }
      });
      while (!Files.exists(stop)) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(300));
        if (batch.isEmpty()) continue;
        for (ConsumerRecord<byte[], byte[]> m : batch) {
          out.write(RecordLines.consumedRow(m));
          count++;
        }
        out.flush();
        consumer.commitSync(); // commit after processing: a successor resumes after these
        event("{\"kind\":\"progress\",\"count\":" + count + "}");
      }
    }
    event("{\"kind\":\"closed\",\"count\":" + count + "}");
    return 0;
  }

  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      System.err.println("usage: E2eClient produce|consume-assign|consume-group --key value ...");
      System.exit(2);
    }
    Map<String, String> a = new HashMap<>();
    for (int i = 1; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --option, got " + argv[i]);
      a.put(argv[i].substring(2), argv[i + 1]);
    }
    int rc = switch (argv[0]) {
      case "produce" -> produce(a);
      case "consume-assign" -> consumeAssign(a);
      case "consume-group" -> consumeGroup(a);
      default -> {
        System.err.println("unknown mode " + argv[0]);
        yield 2;
      }
    };
    System.exit(rc);
  }
}
