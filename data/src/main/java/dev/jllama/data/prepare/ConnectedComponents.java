package dev.jllama.data.prepare;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Connected components of an undirected graph given as an edge RDD, by the alternating large-star / small-star
 * iteration (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014): O(log² n) rounds of
 * shuffles over the edges only, never the whole graph on one machine. At the fixed point every edge links a node
 * to the smallest node of its component. A graph of at most {@link #LOCAL_EDGES} edges (near duplicates are a few
 * percent of a corpus, so up to some fifty million documents) is instead solved by union-find in one task: each
 * round of the iteration is two shuffles and two comparisons of Spark jobs, about a second even for a few thousand
 * edges, and it takes ten rounds or more.
 */
final class ConnectedComponents {
    private ConnectedComponents() {}

    /** Edges solved in one task: its arrays take at most about 60 bytes an edge (120 MB of an executor's heap). */
    static final long LOCAL_EDGES = 2_000_000;

    /**
     * (node, smallest node of its component) for every node that is not the smallest of its component; persisted
     * and computed when this returns.
     */
    static JavaPairRDD<Long, Long> toSmallest(JavaPairRDD<Long, Long> edges, int partitions) {
        return toSmallest(edges, partitions, LOCAL_EDGES);
    }

    /** As {@link #toSmallest(JavaPairRDD, int)}, by union-find in one task when there are at most {@code localEdges}. */
    static JavaPairRDD<Long, Long> toSmallest(JavaPairRDD<Long, Long> edges, int partitions, long localEdges) {
        JavaPairRDD<Long, Long> e = edges.filter(t -> !t._1().equals(t._2())).distinct(partitions)
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        if (e.count() <= localEdges) {
            JavaPairRDD<Long, Long> solved = e.coalesce(1).mapPartitionsToPair(ConnectedComponents::unionFind)
                    .persist(StorageLevel.MEMORY_AND_DISK_SER());
            solved.count();
            e.unpersist(false);
            return solved;
        }
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

    /** The edges' components by union-find over their nodes in ascending order, each root its component's smallest. */
    private static Iterator<Tuple2<Long, Long>> unionFind(Iterator<Tuple2<Long, Long>> edges) {
        long[] from = new long[1024];
        long[] to = new long[1024];
        int n = 0;
        while (edges.hasNext()) {
            Tuple2<Long, Long> t = edges.next();
            if (n == from.length) {
                from = Arrays.copyOf(from, 2 * n);
                to = Arrays.copyOf(to, 2 * n);
            }
            from[n] = t._1();
            to[n++] = t._2();
        }
        long[] nodes = new long[2 * n];
        System.arraycopy(from, 0, nodes, 0, n);
        System.arraycopy(to, 0, nodes, n, n);
        Arrays.sort(nodes);
        int count = 0;
        for (int i = 0; i < nodes.length; i++) if (i == 0 || nodes[i] != nodes[i - 1]) nodes[count++] = nodes[i];
        nodes = Arrays.copyOf(nodes, count);
        int[] parent = new int[count];
        for (int i = 0; i < count; i++) parent[i] = i;
        for (int i = 0; i < n; i++) {
            int a = root(parent, Arrays.binarySearch(nodes, from[i]));
            int b = root(parent, Arrays.binarySearch(nodes, to[i]));
            if (a < b) parent[b] = a; // the smaller index, so the smaller node, stays the root
            else if (b < a) parent[a] = b;
        }
        long[] ids = nodes;
        return new PullIterator<>() {
            private int i;

            @Override
            protected Tuple2<Long, Long> pull() {
                for (; i < ids.length; i++) {
                    int r = root(parent, i);
                    if (r != i) return new Tuple2<>(ids[i++], ids[r]);
                }
                end();
                return null;
            }
        };
    }

    /** The root of node {@code i}, halving the path to it on the way. */
    private static int root(int[] parent, int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }
}
