package dev.jllama.data.prepare;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/** Documents and UTF-8 bytes per source: what one stage let through. Only these sums reach the driver. */
record SourceCounts(Map<String, long[]> bySource) implements Serializable {

    static SourceCounts of(JavaRDD<Doc> docs) {
        return new SourceCounts(new TreeMap<>(docs.mapToPair(d -> new Tuple2<>(d.source(), new long[] {1, d.bytes()}))
                .reduceByKey(SourceCounts::sum)
                .collectAsMap()));
    }

    static long[] sum(long[] a, long[] b) {
        long[] s = a.clone();
        for (int i = 0; i < s.length; i++) s[i] += b[i];
        return s;
    }

    long documents(String source) {
        return bySource.getOrDefault(source, new long[2])[0];
    }

    long bytes(String source) {
        return bySource.getOrDefault(source, new long[2])[1];
    }

    long documents() {
        return bySource.values().stream().mapToLong(v -> v[0]).sum();
    }
}
