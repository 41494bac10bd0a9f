package dev.jllama.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Ring collectives between threads of one JVM over real loopback sockets. */
class CollectiveTest {
    /** 16 floats per chunk: every length above crosses chunk boundaries, most of them not at a multiple. */
    private static final CollectiveOptions SMALL_CHUNKS = CollectiveOptions.defaults().withChunkBytes(64);

    private static int[] lengthsFor(int worldSize) {
        return new int[] {0, 1, 7, worldSize - 1, worldSize + 1, 16, 100, 1001};
    }

    /** Rank r's contribution: values of mixed sign and magnitude, so the summation order shows in the low bits. */
    private static float[] contribution(int rank, int length) {
        SplittableRandom random = new SplittableRandom(31L * rank + length);
        float[] values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(5)));
        return values;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceSumsWithinFloatRoundingAndAgreesBitForBitOnEveryRank(int worldSize) throws Exception {
        try (LocalRing ring = LocalRing.start(worldSize, SMALL_CHUNKS)) {
            for (int length : lengthsFor(worldSize)) {
                List<float[]> results = ring.onEveryRank(c -> {
                    float[] data = contribution(c.rank(), length);
                    c.allReduce(data, 0, length);
                    return data;
                });
                assertSumsWithinRounding(worldSize, length, results.get(0));
                for (float[] result : results) assertArrayEquals(results.get(0), result, "length " + length);
            }
        }
    }

    private static void assertSumsWithinRounding(int worldSize, int length, float[] sums) {
        for (int i = 0; i < length; i++) {
            double exact = 0;
            double magnitude = 0;
            for (int rank = 0; rank < worldSize; rank++) {
                float x = contribution(rank, length)[i];
                exact += x;
                magnitude += Math.abs(x);
            }
            // W-1 float additions, each rounding by at most half an ulp of a partial sum bounded by `magnitude`.
            double bound = (worldSize - 1) * Math.ulp((float) magnitude) + Math.ulp((float) exact);
            assertEquals(exact, sums[i], bound, "element " + i + " of " + length);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void reduceScatterThenAllGatherEqualsAllReduceBitForBit(int worldSize) throws Exception {
        try (LocalRing ring = LocalRing.start(worldSize, SMALL_CHUNKS)) {
            for (int length : lengthsFor(worldSize)) {
                List<float[][]> results = ring.onEveryRank(c -> {
                    float[] reduced = contribution(c.rank(), length);
                    c.allReduce(reduced, 0, length);
                    float[] scattered = contribution(c.rank(), length);
                    c.reduceScatter(scattered, 0, length);
                    Collective.Range mine = Collective.range(length, c.worldSize(), c.rank());
                    float[] owned = Arrays.copyOfRange(scattered, mine.start(), mine.end());
                    c.allGather(scattered, 0, length);
                    return new float[][] {reduced, scattered, owned};
                });
                for (int rank = 0; rank < worldSize; rank++) {
                    float[] reduced = results.get(rank)[0];
                    Collective.Range mine = Collective.range(length, worldSize, rank);
                    assertArrayEquals(Arrays.copyOfRange(reduced, mine.start(), mine.end()), results.get(rank)[2],
                            "rank " + rank + "'s range after reduce-scatter, length " + length);
                    assertArrayEquals(reduced, results.get(rank)[1], "rank " + rank + ", length " + length);
                }
            }
        }
    }

    @Test
    void operationsTouchOnlyTheirSliceOfTheArray() throws Exception {
        int offset = 5;
        int length = 37;
        try (LocalRing ring = LocalRing.start(3, SMALL_CHUNKS)) {
            List<float[]> results = ring.onEveryRank(c -> {
                float[] data = new float[offset + length + 4];
                Arrays.fill(data, -1);
                for (int i = 0; i < length; i++) data[offset + i] = c.rank() + i;
                c.allReduce(data, offset, length);
                return data;
            });
            for (float[] data : results) {
                for (int i = 0; i < data.length; i++) {
                    boolean inside = i >= offset && i < offset + length;
                    float expected = inside ? 3 * (i - offset) + 0 + 1 + 2 : -1;
                    assertEquals(expected, data[i], "element " + i);
                }
            }
        }
    }

    @Test
    void largeArraysWithTheDefaultChunkSize() throws Exception {
        int length = 1_000_003;
        try (LocalRing ring = LocalRing.start(3, CollectiveOptions.defaults())) {
            List<float[]> results = ring.onEveryRank(c -> {
                float[] data = new float[length];
                for (int i = 0; i < length; i++) data[i] = (c.rank() + 1) * (i % 1000);
                c.allReduce(data, 0, length);
                return data;
            });
            for (float[] data : results) {
                for (int i = 0; i < length; i++) assertEquals(6 * (i % 1000), data[i], "element " + i);
            }
        }
    }

    @Test
    void asynchronousOperationsRunInSubmissionOrder() throws Exception {
        int length = 101;
        try (LocalRing ring = LocalRing.start(3, SMALL_CHUNKS)) {
            List<List<String>> completions = ring.onEveryRank(c -> {
                float[] twice = new float[length];
                float[] pieces = new float[length];
                for (int i = 0; i < length; i++) {
                    twice[i] = c.rank() + 1;
                    pieces[i] = i;
                }
                List<String> order = Collections.synchronizedList(new ArrayList<>());
                CompletableFuture<?> all = CompletableFuture.allOf(
                        c.allReduceAsync(twice, 0, length).thenRun(() -> order.add("first all-reduce")),
                        c.reduceScatterAsync(pieces, 0, length).thenRun(() -> order.add("reduce-scatter")),
                        c.allReduceAsync(twice, 0, length).thenRun(() -> order.add("second all-reduce")),
                        c.allGatherAsync(pieces, 0, length).thenRun(() -> order.add("all-gather")));
                all.join();
                for (int i = 0; i < length; i++) {
                    assertEquals(3 * 6, twice[i], "all-reduced twice: 3 x (1 + 2 + 3)");
                    assertEquals(3 * i, pieces[i], "reduce-scatter + all-gather");
                }
                return order;
            });
            for (List<String> order : completions) {
                assertEquals(List.of("first all-reduce", "reduce-scatter", "second all-reduce", "all-gather"), order);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void allGatherBytesGivesEveryRankEveryRanksBytes(int worldSize) throws Exception {
        try (LocalRing ring = LocalRing.start(worldSize, CollectiveOptions.defaults())) {
            List<byte[][]> results = ring.onEveryRank(c -> c.allGatherBytes(message(c.rank())));
            for (byte[][] gathered : results) {
                assertEquals(worldSize, gathered.length);
                for (int rank = 0; rank < worldSize; rank++) assertArrayEquals(message(rank), gathered[rank]);
            }
        }
    }

    /** Rank 0's message is empty; the others differ in length and content. */
    private static byte[] message(int rank) {
        return "x".repeat(rank * 3).concat(rank == 0 ? "" : "rank " + rank).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void allReduceDoublesAddsInRankOrderIdenticallyOnEveryRank() throws Exception {
        try (LocalRing ring = LocalRing.start(4, CollectiveOptions.defaults())) {
            List<double[]> results = ring.onEveryRank(c -> c.allReduceDoubles(doubles(c.rank())));
            double[] inRankOrder = new double[3];
            for (int rank = 0; rank < 4; rank++) {
                for (int i = 0; i < 3; i++) inRankOrder[i] += doubles(rank)[i];
            }
            for (double[] sums : results) assertArrayEquals(inRankOrder, sums, 0.0);
        }
    }

    /** Magnitudes where the order of additions changes the result. */
    private static double[] doubles(int rank) {
        return new double[] {rank % 2 == 0 ? 1e16 : -1e16, 0.1 * (rank + 1), rank};
    }

    @Test
    void aSingleRankNeedsNoSockets() throws Exception {
        try (PeerListener listener = PeerListener.open("127.0.0.1");
             Collective alone = Collective.connect(listener, 0, List.of(listener.address()), LocalRing.SECRET,
                     CollectiveOptions.defaults())) {
            float[] data = {1, 2, 3};
            alone.allReduce(data, 0, 3);
            alone.reduceScatter(data, 0, 3);
            alone.allGather(data, 0, 3);
            alone.allReduceAsync(data, 1, 2).join();
            assertArrayEquals(new float[] {1, 2, 3}, data);
            byte[] mine = {7};
            byte[][] gathered = alone.allGatherBytes(mine);
            mine[0] = 8;
            assertArrayEquals(new byte[] {7}, gathered[0], "a copy, not the caller's array");
            assertArrayEquals(new double[] {2.5}, alone.allReduceDoubles(new double[] {2.5}), 0.0);
        }
    }

    @Test
    void ranksThatIssueDifferentOperationsFailWithAClearMessage() throws Exception {
        try (LocalRing ring = LocalRing.start(2, CollectiveOptions.defaults())) {
            List<IOException> failures = ring.onEveryRank(c -> {
                int length = c.rank() == 0 ? 10 : 12;
                return assertThrows(IOException.class, () -> c.allReduce(new float[length], 0, length));
            });
            assertTrue(failures.stream().anyMatch(e -> e.getMessage().contains(
                    "every rank must issue the same collective operations")), failures.toString());
            IOException later = assertThrows(IOException.class, () -> ring.rank(0).allReduce(new float[1], 0, 1));
            assertTrue(later.getMessage().contains("unusable after an earlier failure"), later.getMessage());
        }
    }

    @Test
    void rangesSplitContiguouslyWithLengthsDifferingByAtMostOne() {
        for (int worldSize = 1; worldSize <= 5; worldSize++) {
            for (int length = 0; length <= 20; length++) {
                int expectedStart = 0;
                for (int rank = 0; rank < worldSize; rank++) {
                    Collective.Range range = Collective.range(length, worldSize, rank);
                    assertEquals(expectedStart, range.start());
                    assertTrue(range.length() == length / worldSize || range.length() == length / worldSize + 1);
                    expectedStart = range.end();
                }
                assertEquals(length, expectedStart);
            }
        }
    }

    @Test
    void connectRejectsAnAddressListThatDoesNotNameThisListener() throws Exception {
        try (PeerListener listener = PeerListener.open("127.0.0.1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Collective.connect(
                    listener, 0, List.of("127.0.0.1:1", "127.0.0.1:2"), LocalRing.SECRET,
                    CollectiveOptions.defaults()));
            assertTrue(e.getMessage().contains("listener is at " + listener.address()), e.getMessage());
        }
    }
}
