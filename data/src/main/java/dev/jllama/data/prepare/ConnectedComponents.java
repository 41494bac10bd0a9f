package dev.jllama.data.prepare;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Connected components of an undirected graph given as an edge RDD, by the alternating large-star / small-star
 * iteration (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014): O(log² n) rounds of
 * shuffles over the edges only, never the whole graph on one machine. At the fixed point every edge links a node
 * to the smallest node of its component.
 */
final class ConnectedComponents {
    private ConnectedComponents() {}

    /**
     * (node, smallest node of its component) for every node that is not the smallest of its component; persisted
     * and computed when this returns.
     */
    static JavaPairRDD<Long, Long> toSmallest(JavaPairRDD<Long, Long> edges, int partitions) {
        JavaPairRDD<Long, Long> e = edges.filter(t -> !t._1().equals(t._2())).distinct(partitions)
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        while (true) {
            JavaPairRDD<Long, Long> next = smallStar(largeStar(e, partitions), partitions)
                    .persist(StorageLevel.MEMORY_AND_DISK_SER());
            boolean same = next.subtract(e, partitions).count() == 0 && e.subtract(next, partitions).count() == 0;
            e.unpersist(false);
            e = next;
            if (same) return e;
        }
    }

    /** Every node links its larger neighbours to the smallest node of its neighbourhood (itself included). */
    private static JavaPairRDD<Long, Long> largeStar(JavaPairRDD<Long, Long> e, int partitions) {
        return e.flatMapToPair(t -> List.of(t, t.swap()).iterator())
                .groupByKey(partitions)
                .flatMapToPair(g -> {
                    long u = g._1();
                    long m = smallest(u, g._2());
                    List<Tuple2<Long, Long>> out = new ArrayList<>();
                    for (long v : g._2()) if (v > u) out.add(new Tuple2<>(v, m));
                    return out.iterator();
                })
                .distinct(partitions);
    }

    /** Every node links itself and its smaller neighbours to the smallest of them. */
    private static JavaPairRDD<Long, Long> smallStar(JavaPairRDD<Long, Long> e, int partitions) {
        return e.mapToPair(t -> t._1() > t._2() ? t : t.swap())
                .groupByKey(partitions)
                .flatMapToPair(g -> {
                    long u = g._1();
                    long m = smallest(u, g._2());
                    List<Tuple2<Long, Long>> out = new ArrayList<>();
                    if (u != m) out.add(new Tuple2<>(u, m));
                    for (long v : g._2()) if (v != m) out.add(new Tuple2<>(v, m));
                    return out.iterator();
                })
                .distinct(partitions);
    }

    private static long smallest(long node, Iterable<Long> neighbours) {
        long m = node;
        for (long v : neighbours) m = Math.min(m, v);
        return m;
    }
}
