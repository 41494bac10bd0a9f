package dev.jllama.data.prepare;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * Documents, UTF-8 bytes and tokens per source (as {documents, bytes, tokens}): what one stage let through. Tokens
 * are the documents' {@link Doc#tokens()}. Only these sums reach the driver.
 */
record SourceCounts(Map<String, long[]> bySource) implements Serializable {

    static SourceCounts of(JavaRDD<Doc> docs) {
        return new SourceCounts(new TreeMap<>(docs.mapToPair(d -> new Tuple2<>(d.source(), one(d, d.bytes())))
                .reduceByKey(SourceCounts::sum)
                .collectAsMap()));
    }

    /** One document's counts, its bytes given (as read, or as it stands). */
    static long[] one(Doc d, long bytes) {
        return new long[] {1, bytes, d.tokens()};
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
