package dev.jllama.data.prepare;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Documents, UTF-8 bytes and tokens per source (as {documents, bytes, tokens}): what one stage let through. Tokens
 * are the documents' {@link Doc#tokens()}, those not counted yet as 0 (then filled in by the report from what
 * later steps counted, see {@link StageTokens}). Only these sums reach the driver.
 */
record SourceCounts(Map<String, long[]> bySource) implements Serializable {

    static SourceCounts of(JavaRDD<Doc> docs) {
        return new SourceCounts(new TreeMap<>(docs.mapToPair(d -> new Tuple2<>(d.source(), one(d, d.bytes())))
                .reduceByKey(SourceCounts::sum)
                .collectAsMap()));
    }

    /**
     * A step's counts in one pass over its output: per source what it let through (the documents no step removed),
     * and the tokens of those it removed itself (tagged {@code step}), counted with {@code model} (null: none).
     */
    record OfStep(SourceCounts after, Map<String, Long> removedTokens) {}

    static OfStep ofStep(JavaRDD<Doc> docs, String step, Broadcast<byte[]> model) {
        Map<String, long[]> all = docs.mapPartitionsToPair(it -> {
                    Tokenizer t = StageTokens.counter(model == null ? null : model.value());
                    Map<String, long[]> m = new TreeMap<>();
                    while (it.hasNext()) {
                        Doc d = it.next();
                        if (d.removedBy() == null) {
                            m.merge(d.source(), Arrays.copyOf(one(d, d.bytes()), 4), SourceCounts::sum);
                        } else if (t != null && step.equals(d.removedBy())) {
                            m.merge(d.source(), new long[] {0, 0, 0, StageTokens.of(d, t)}, SourceCounts::sum);
                        }
                    }
                    return m.entrySet().stream().map(e -> new Tuple2<>(e.getKey(), e.getValue())).iterator();
                })
                .reduceByKey(SourceCounts::sum)
                .collectAsMap();
        Map<String, long[]> after = new TreeMap<>();
        Map<String, Long> removed = new TreeMap<>();
        all.forEach((source, c) -> {
            if (c[0] > 0) after.put(source, Arrays.copyOf(c, 3));
            if (c[3] > 0) removed.put(source, c[3]);
        });
        return new OfStep(new SourceCounts(after), removed);
    }

    /** One document's counts, its bytes given (as read, or as it stands); tokens not counted yet count 0. */
    static long[] one(Doc d, long bytes) {
        return new long[] {1, bytes, Math.max(0, d.tokens())};
    }

    static long[] sum(long[] a, long[] b) {
        long[] s = a.clone();
        for (int i = 0; i < s.length; i++) s[i] += b[i];
        return s;
    }

    long documents(String source) {
        return bySource.getOrDefault(source, new long[3])[0];
    }

    long bytes(String source) {
        return bySource.getOrDefault(source, new long[3])[1];
    }

    long tokens(String source) {
        return bySource.getOrDefault(source, new long[3])[2];
    }

    long documents() {
        return bySource.values().stream().mapToLong(v -> v[0]).sum();
    }

    long tokens() {
        return bySource.values().stream().mapToLong(v -> v[2]).sum();
    }
}
