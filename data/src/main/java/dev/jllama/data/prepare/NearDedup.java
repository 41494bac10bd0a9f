package dev.jllama.data.prepare;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Near-duplicate removal: MinHash signatures ({@link MinHash}), candidate pairs from equal band keys, candidates
 * confirmed by their signatures' similarity, groups as connected components of the confirmed pairs
 * ({@link ConnectedComponents}), and of each group the document with the smallest node id kept. A band bucket
 * with k documents gives k − 1 edges to its smallest member (a star, not k² pairs), so a bucket of boilerplate
 * pages costs linear work. A document's node id is the first 64 bits of its key (the SHA-256 of its cleaned
 * text), so the kept document depends on the texts alone, not on where the files lie or how they are split;
 * equal texts are one node, so without exact dedup before it they are first reduced to one ({@link ExactDedup}).
 */
final class NearDedup {
    private NearDedup() {}

    /**
     * The documents that remain, in the order and partitions of {@link ExactDedup#apply}'s output; {@code input}
     * should be persisted (it is read twice), and {@code textsUnique} says whether it is already that output. With
     * {@code markRemoved}, those removed are there too, tagged {@code near_dedup}, for a counting pass
     * ({@link StageTokens}).
     */
    static JavaRDD<Doc> apply(JavaRDD<Doc> input, NearDedupOptions options, int partitions, boolean textsUnique,
                              boolean markRemoved) {
        if (!markRemoved) return run(input, options, partitions, textsUnique, false, false);
        return copiesRemovedHere(run(textsUnique ? input : ExactDedup.marked(input, partitions), options, partitions,
                true, false, true));
    }

    /**
     * For annotating: every document of {@code input} in output order ({@link ExactDedup#tagged}'s), those removed
     * tagged {@code near_dedup}, and each member of a group of two or more given the key prefix of its kept document
     * as near group; documents an earlier step removed pass through. Without exact dedup before it, the copies of a
     * text that {@link #apply} reduces to one are removed here too; with it, {@code input} must be
     * {@link ExactDedup#tagged}'s output.
     */
    static JavaRDD<Doc> tagged(JavaRDD<Doc> input, NearDedupOptions options, int partitions, boolean textsUnique) {
        if (textsUnique) return run(input, options, partitions, true, true, false);
        return copiesRemovedHere(run(ExactDedup.tagged(input, partitions), options, partitions, true, true, false));
    }

    /** Without exact dedup before it, the exact copies it reduces to one first count as removed by near dedup. */
    private static JavaRDD<Doc> copiesRemovedHere(JavaRDD<Doc> docs) {
        return docs.map(d -> "exact_dedup".equals(d.removedBy()) ? d.removedBy("near_dedup") : d);
    }

    private static JavaRDD<Doc> run(JavaRDD<Doc> input, NearDedupOptions options, int partitions, boolean textsUnique,
                                    boolean tag, boolean markRemoved) {
        JavaRDD<Doc> docs = textsUnique ? input : ExactDedup.apply(input, partitions);
        // Only documents no earlier step removed are compared (when tagging, the others pass through).
        JavaPairRDD<Long, int[]> signatures = docs.filter(d -> d.removedBy() == null).mapPartitionsToPair(it -> {
            MinHash minHash = new MinHash(options);
            List<Tuple2<Long, int[]>> out = new ArrayList<>();
            while (it.hasNext()) {
                Doc d = it.next();
                out.add(new Tuple2<>(d.id(), minHash.signature(d.text())));
            }
            return out.iterator();
        }).persist(StorageLevel.MEMORY_AND_DISK_SER());
        // Computed here, once: the band keys and both joins below read it in stages that run at the same time, and
        // each would compute (MinHash every document) what is not cached yet.
        signatures.count();

        JavaPairRDD<Long, Long> candidates = signatures.mapPartitionsToPair(it -> bandKeys(it, options))
                .groupByKey(partitions)
                .flatMapToPair(bucket -> {
                    long min = Long.MAX_VALUE;
                    for (long id : bucket._2()) min = Math.min(min, id);
                    List<Tuple2<Long, Long>> out = new ArrayList<>();
                    for (long id : bucket._2()) if (id != min) out.add(new Tuple2<>(id, min));
                    return out.iterator();
                })
                .distinct(partitions);
        double threshold = options.threshold();
        JavaPairRDD<Long, Long> confirmed = candidates.join(signatures, partitions)
                .mapToPair(t -> new Tuple2<>(t._2()._1(), new Tuple2<>(t._1(), t._2()._2())))
                .join(signatures, partitions)
                .filter(t -> MinHash.similarity(t._2()._1()._2(), t._2()._2()) >= threshold)
                .mapToPair(t -> new Tuple2<>(t._2()._1()._1(), t._1()));
        JavaPairRDD<Long, Long> removed = ConnectedComponents.toSmallest(confirmed, partitions); // materialised
        signatures.unpersist(false);
        if (tag) {
            // Every member of a group, the kept one (its own smallest) included, points at the group's smallest id.
            // The documents stay in the key ranges ExactDedup#tagged put them in: only these pairs move, each to the
            // partition of its member's range.
            JavaPairRDD<Long, Long> groups = removed.union(removed.values().distinct(partitions).mapToPair(r -> new Tuple2<>(r, r)))
                    .partitionBy(new KeyRanges(partitions));
            return docs.zipPartitions(groups, (inRange, members) -> {
                Map<Long, Long> roots = new HashMap<>();
                members.forEachRemaining(m -> roots.put(m._1(), m._2()));
                int range = TaskContext.getPartitionId();
                return new Iterator<Doc>() {
                    @Override
                    public boolean hasNext() {
                        return inRange.hasNext();
                    }

                    @Override
                    public Doc next() {
                        Doc d = inRange.next();
                        if (d.removedBy() != null) return d; // an exact copy shares its kept copy's id
                        if (KeyRanges.of(d.id(), partitions) != range) {
                            throw new IllegalStateException("document " + d.key() + " is not in key range " + range
                                    + " of " + partitions + ": near dedup's tagging needs ExactDedup#tagged's partitions");
                        }
                        Long root = roots.get(d.id());
                        if (root == null) return d;
                        Doc grouped = d.groups(d.exactGroup(), String.format("%016x", root));
                        return root == d.id() ? grouped : grouped.removedBy("near_dedup");
                    }
                };
            });
        }
        // The documents stay where exact dedup put them (key ranges, sorted): only the removed ids move, to the
        // partition of their range, and each partition drops its own (held as a sorted long[], 8 bytes an id).
        JavaRDD<long[]> removedByRange = removed.partitionBy(new KeyRanges(partitions))
                .mapPartitions(it -> {
                    long[] ids = new long[16];
                    int n = 0;
                    while (it.hasNext()) {
                        if (n == ids.length) ids = Arrays.copyOf(ids, 2 * n);
                        ids[n++] = it.next()._1();
                    }
                    long[] sorted = Arrays.copyOf(ids, n);
                    Arrays.sort(sorted);
                    return List.of(sorted).iterator();
                }, true);
        return docs.zipPartitions(removedByRange, (kept, ids) -> {
            long[] gone = ids.next();
            return new PullIterator<Doc>() {
                @Override
                protected Doc pull() {
                    if (!kept.hasNext()) {
                        end();
                        return null;
                    }
                    Doc d = kept.next();
                    if (d.removedBy() != null || Arrays.binarySearch(gone, d.id()) < 0) return d; // passing through, kept
                    return markRemoved ? d.removedBy("near_dedup") : null;
                }
            };
        });
    }

    private static Iterator<Tuple2<Long, Long>> bandKeys(Iterator<Tuple2<Long, int[]>> it, NearDedupOptions options) {
        MinHash minHash = new MinHash(options);
        List<Tuple2<Long, Long>> out = new ArrayList<>();
        while (it.hasNext()) {
            Tuple2<Long, int[]> s = it.next();
            for (int b = 0; b < options.bands(); b++) out.add(new Tuple2<>(minHash.bandKey(s._2(), b), s._1()));
        }
        return out.iterator();
    }
}
