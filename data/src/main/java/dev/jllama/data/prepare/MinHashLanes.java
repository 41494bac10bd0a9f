package dev.jllama.data.prepare;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link MinHash}'s hash functions a vector of them at a time: the signature's inner loop, loaded only where the JVM
 * has the Vector API. The same integer arithmetic as {@link MinHash#minimum}, so the same values.
 */
final class MinHashLanes {
    private MinHashLanes() {}

    private static final VectorSpecies<Long> LANES = LongVector.SPECIES_PREFERRED;

    /**
     * Fills {@code sig[i]} with hash function i's least value over the shingle hashes {@code x}, for the functions
     * that fill whole vectors; returns how many it filled (the rest are left to the scalar loop).
     */
    static int minima(long[] a, long[] b, long[] x, int[] sig) {
        int whole = LANES.loopBound(a.length);
        for (int i = 0; i < whole; i += LANES.length()) {
            LongVector va = LongVector.fromArray(LANES, a, i);
            LongVector vb = LongVector.fromArray(LANES, b, i);
            LongVector min = LongVector.broadcast(LANES, Long.MAX_VALUE);
            for (long v : x) min = min.min(va.mul(v).add(vb).lanewise(VectorOperators.LSHR, 32));
            for (int j = 0; j < LANES.length(); j++) sig[i + j] = (int) min.lane(j);
        }
        return whole;
    }
}
