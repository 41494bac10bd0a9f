package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jllama.data.SparkTestSession;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/** The histograms' ranges and bin counts, computed by hand. */
class SignalHistogramsTest {
    private static final double NAN = Double.NaN;

    @Test
    void rangesTakeInTheThresholdsAndSurviveMissingOrSingleValues() {
        double inf = Double.POSITIVE_INFINITY;
        double[][] r = SignalHistograms.ranges(new double[] {2, inf, 5, 10}, new double[] {8, -inf, 5, 20},
                List.of("a", "none", "single", "wide"), Map.of("a", new TreeSet<>(List.of(1.0, 9.5)),
                        "wide", new TreeSet<>(List.of(15.0))));
        assertArrayEquals(new double[] {1, 0, 5, 10}, r[0]);
        assertArrayEquals(new double[] {9.5, 1, 6, 20}, r[1]);
    }

    @Test
    void countsPerSourceAndColumnSkipMissingValues() {
        // Column 0 over [0, 40]: one bin per unit; column 1 over [0, 4]: ten bins per unit, NaN where unscored.
        var values = SparkTestSession.get().parallelize(List.of(
                new Tuple2<>("web", new double[] {0, 0.05}),
                new Tuple2<>("web", new double[] {39.99, NAN}),
                new Tuple2<>("web", new double[] {40, 4}),
                new Tuple2<>("books", new double[] {12.5, 1.25}),
                new Tuple2<>("web", new double[] {12.5, NAN})), 3);
        SignalHistograms.Bins bins = SignalHistograms.count(values, new double[] {0, 0}, new double[] {40, 4});
        assertEquals(List.of("books", "web"), List.copyOf(bins.bySource().keySet()));
        long[] webA = new long[SignalHistograms.BINS];
        webA[0] = 1;
        webA[12] = 1;
        webA[39] = 2; // 39.99, and 40 clamped into the last bin
        assertArrayEquals(webA, bins.bySource().get("web")[0]);
        long[] webB = new long[SignalHistograms.BINS];
        webB[0] = 1;
        webB[39] = 1;
        assertArrayEquals(webB, bins.bySource().get("web")[1]);
        long[] booksB = new long[SignalHistograms.BINS];
        booksB[12] = 1;
        assertArrayEquals(booksB, bins.bySource().get("books")[1]);
        assertEquals(1, java.util.Arrays.stream(bins.bySource().get("books")[0]).sum());
    }
}
