package dev.jllama.data.prepare;

import org.apache.spark.Partitioner;

/**
 * Partitions documents by their key ({@link Doc#key()}, hex) or node id ({@link Doc#id()}, its first 64 bits) into
 * equal ranges of the 64-bit id space, in order: partition i holds smaller keys than partition i + 1. Keys are
 * SHA-256 prefixes, so the ranges are even without sampling the data (as Spark's RangePartitioner would, running
 * the whole lineage once more). Documents so partitioned and sorted within each partition are in output order when
 * the partitions are read in index order, and a set of ids partitioned the same way meets its documents
 * partition by partition, without moving them.
 */
final class KeyRanges extends Partitioner {
    private final int partitions;

    KeyRanges(int partitions) {
        if (partitions < 1) throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
        this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
        return partitions;
    }

    @Override
    public int getPartition(Object key) {
        long id = key instanceof String hex ? Long.parseUnsignedLong(hex, 0, 16, 16) : (Long) key;
        return of(id, partitions);
    }

    /** The range of {@code id}: floor(id · partitions / 2^64), id unsigned. */
    static int of(long id, int partitions) {
        return (int) Math.unsignedMultiplyHigh(id, partitions);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyRanges k && k.partitions == partitions;
    }

    @Override
    public int hashCode() {
        return partitions;
    }
}
