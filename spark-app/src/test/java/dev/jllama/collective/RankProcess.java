package dev.jllama.collective;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * One rank of {@link CollectiveProcessTest} in its own JVM: {@code RankProcess <rank> <worldSize>}. Prints
 * {@code address HOST:PORT}, reads {@code addresses A,B,...} and {@code secret HEX} from standard input, runs the
 * collectives, checks what it can check alone and prints {@code checksum HEX} of its all-reduced floats (the parent
 * compares them across ranks). Exit status 0 on success.
 */
public final class RankProcess {
    static final int LENGTH = 1_000_003;

    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(args[0]);
        int worldSize = Integer.parseInt(args[1]);
        try (Collective collective = AllReduceBench.joinThroughParent(rank, "127.0.0.1")) {
            run(collective, worldSize);
        }
        System.exit(0);
    }

    private static void run(Collective collective, int worldSize) throws Exception {
        int rank = collective.rank();
        float[] exact = new float[LENGTH];
        for (int i = 0; i < LENGTH; i++) exact[i] = (rank + 1) * (i % 1000);
        collective.allReduce(exact, 0, LENGTH);
        float ranksTotal = worldSize * (worldSize + 1) / 2f;
        for (int i = 0; i < LENGTH; i++) {
            if (exact[i] != ranksTotal * (i % 1000)) throw new AssertionError("element " + i + " = " + exact[i]);
        }

        float[] reduced = randomFloats(rank);
        collective.allReduce(reduced, 0, LENGTH);
        float[] inPieces = randomFloats(rank);
        collective.reduceScatter(inPieces, 0, LENGTH);
        collective.allGather(inPieces, 0, LENGTH);
        if (!Arrays.equals(reduced, inPieces)) throw new AssertionError("reduce-scatter + all-gather != all-reduce");

        byte[][] names = collective.allGatherBytes(("rank " + rank).getBytes(StandardCharsets.UTF_8));
        for (int peer = 0; peer < worldSize; peer++) {
            String name = new String(names[peer], StandardCharsets.UTF_8);
            if (!name.equals("rank " + peer)) throw new AssertionError("gathered '" + name + "' for rank " + peer);
        }
        double[] sum = collective.allReduceDoubles(new double[] {rank});
        if (sum[0] != worldSize * (worldSize - 1) / 2.0) throw new AssertionError("rank sum " + sum[0]);

        CRC32 checksum = new CRC32();
        for (float f : reduced) checksum.update(Float.floatToRawIntBits(f));
        System.out.println("checksum " + Long.toHexString(checksum.getValue()));
    }

    private static float[] randomFloats(int rank) {
        SplittableRandom random = new SplittableRandom(rank);
        float[] values = new float[LENGTH];
        for (int i = 0; i < LENGTH; i++) values[i] = (float) random.nextGaussian();
        return values;
    }
}
