package dev.jllama.data.mixture;

import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.SplitMix64;
import dev.jllama.data.shard.WindowPosition;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.data.shard.WindowStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rank's part of a mixture's global draw stream. Global draw g takes its dataset by weight with a generator
 * seeded by (seed, g) alone, and reads that dataset's global window stream (seeded by (seed, dataset index)) at
 * the number of earlier draws that chose the same dataset. So the draws are the same whatever the world size, and
 * the rank slices cut them exactly as they cut a single dataset's stream. Each rank counts the choices of every
 * draw, its own and the other ranks', one SplitMix64 value per draw. Datasets are endless (they wrap into new
 * epochs), as in the LLaMA recipe where small high-quality sets are seen more than once.
 */
final class MixtureWindowSource implements WindowSource {
    /** Keeps the choice generator's seeds apart from the datasets' stream seeds, which are (seed, index). */
    private static final long CHOICE_STREAM = -2;
    /** How many draws ahead a dataset's reader looks for its next block before giving up prefetching it. */
    private static final int LOOKAHEAD_DRAWS = 1 << 22;

    private final List<MixtureComponent> components;
    private final List<String> fingerprints;
    private final List<WindowStream> streams;
    /** wanted.get(c): the indices of dataset c's stream this rank will read, found by replaying the coming draws. */
    private final List<WindowStream.Wanted> wanted;
    private final double[] weights;
    private final long[] windowsPerEpoch;
    private final double[] cumulative;
    private final String split;
    private final int seqLen;
    private final long seed;
    private final RankSlice slice;
    private final long start;
    private long read;
    /** Draws [0, scanned) of the whole world have been counted into counts. */
    private long scanned;
    private final long[] counts;
    /** Counts at the last step boundary this rank reached, for report() and position(). */
    private long boundaryDraws;
    private long[] boundaryCounts;

    private MixtureWindowSource(List<MixtureComponent> components, List<String> fingerprints, List<WindowStream> streams,
                                long[] windowsPerEpoch, String split, int seqLen, long seed, RankSlice slice, long start) {
        this.components = List.copyOf(components);
        this.windowsPerEpoch = windowsPerEpoch.clone();
        this.fingerprints = List.copyOf(fingerprints);
        this.streams = List.copyOf(streams);
        this.split = split;
        this.seqLen = seqLen;
        this.seed = seed;
        this.slice = slice;
        this.start = start;
        this.weights = normalisedWeights(components);
        this.cumulative = new double[weights.length];
        double acc = 0;
        for (int i = 0; i < weights.length; i++) {
            acc += weights[i];
            cumulative[i] = acc;
        }
        cumulative[cumulative.length - 1] = 1.0;
        this.counts = new long[components.size()];
        List<WindowStream.Wanted> w = new ArrayList<>();
        for (int c = 0; c < components.size(); c++) w.add(wantedOf(c));
        this.wanted = List.copyOf(w);
        advanceTo(start);
        markBoundary(start);
    }

    static double[] normalisedWeights(List<MixtureComponent> components) {
        double total = components.stream().mapToDouble(MixtureComponent::weight).sum();
        return components.stream().mapToDouble(c -> c.weight() / total).toArray();
    }

    /** Opens every dataset's stream of {@code split}; {@code datasets} are the components' opened datasets. */
    static MixtureWindowSource open(List<MixtureComponent> components, List<Dataset> datasets, String split, int seqLen,
                                    long seed, RankSlice slice, String position) throws IOException {
        List<String> fingerprints = new ArrayList<>();
        for (Dataset d : datasets) fingerprints.add(d.fingerprint(split));
        long start = 0;
        if (position != null) {
            MixturePosition saved = MixturePosition.parse(position);
            checkMatches(saved, components, fingerprints, split, seqLen, seed);
            start = saved.windows();
        }
        List<WindowStream> streams = new ArrayList<>();
        try {
            for (int i = 0; i < datasets.size(); i++) streams.add(datasets.get(i).stream(split, seqLen, SplitMix64.seed(seed, i),
                    slice.readAheadVisits()));
        } catch (IOException | RuntimeException e) {
            for (WindowStream s : streams) s.close();
            throw e;
        }
        long[] perEpoch = datasets.stream().mapToLong(d -> d.windowsPerEpoch(split, seqLen)).toArray();
        return new MixtureWindowSource(components, fingerprints, streams, perEpoch, split, seqLen, seed, slice, start);
    }

    private static void checkMatches(MixturePosition saved, List<MixtureComponent> components, List<String> fingerprints,
                                     String split, int seqLen, long seed) throws IOException {
        WindowPosition.checkField("split", saved.split(), split);
        WindowPosition.checkField("seq_len", saved.seqLen(), seqLen);
        WindowPosition.checkField("seed", saved.seed(), seed);
        WindowPosition.checkField("components", saved.components().stream().map(MixturePosition.Component::name).toList(),
                components.stream().map(MixtureComponent::name).toList());
        double[] weights = normalisedWeights(components);
        for (int i = 0; i < components.size(); i++) {
            MixturePosition.Component c = saved.components().get(i);
            WindowPosition.checkField("components[" + c.name() + "].dataset", c.dataset(), fingerprints.get(i));
            if (Math.abs(c.weight() - weights[i]) > 1e-9 * weights[i]) {
                throw new IOException("reader position was saved with components[" + c.name() + "].weight=" + c.weight()
                        + " but is resumed with components[" + c.name() + "].weight=" + weights[i]
                        + " (normalised); other weights choose other datasets for the same draws");
            }
        }
    }

    /** The dataset of global draw {@code g}: a pure function of (seed, weights, g). */
    int choose(long g) {
        double u = new SplitMix64(SplitMix64.seed(seed, CHOICE_STREAM, g)).nextDouble();
        for (int i = 0; i < cumulative.length; i++) {
            if (u < cumulative[i]) return i;
        }
        return cumulative.length - 1;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public void next(int[] dst, int count) throws IOException {
        int len = seqLen + 1;
        if (count < 0 || dst.length < (long) count * len) {
            throw new IllegalArgumentException("dst holds " + dst.length + " ints, " + count + " windows need " + (long) count * len);
        }
        for (int i = 0; i < count; i++) {
            long g = slice.globalIndex(start, read);
            advanceTo(g);
            int c = choose(g);
            long index = counts[c]++;
            scanned = g + 1;
            streams.get(c).copy(index, dst, i * len, wanted.get(c));
            read++;
            if (read % slice.windowsPerStep() == 0) {
                long boundary = slice.consumedAtStepBoundary(start, read);
                advanceTo(boundary); // the rest of the step belongs to the ranks after this one
                markBoundary(boundary);
            }
        }
    }

    private void advanceTo(long g) {
        for (; scanned < g; scanned++) counts[choose(scanned)]++;
    }

    private void markBoundary(long draws) {
        boundaryDraws = draws;
        boundaryCounts = counts.clone();
    }

    /**
     * Dataset {@code c}'s indices this rank will read, found by replaying the coming draws (those from
     * {@code scanned} on) up to {@link #LOOKAHEAD_DRAWS} ahead.
     */
    private WindowStream.Wanted wantedOf(int c) {
        return new WindowStream.Wanted() {
            @Override
            public long firstAtOrAfter(long x) {
                long[] first = scan(x, Long.MAX_VALUE, 1);
                return first.length == 0 ? -1 : first[0];
            }

            @Override
            public long[] within(long from, long to) {
                return scan(from, to, Integer.MAX_VALUE);
            }

            /** Up to {@code limit} indices in [from, to) of dataset c that this rank's coming draws read. */
            private long[] scan(long from, long to, int limit) {
                long[] found = new long[16];
                int n = 0;
                long count = counts[c];
                for (long g = scanned, end = scanned + LOOKAHEAD_DRAWS; g < end && count < to && n < limit; g++) {
                    if (choose(g) != c) continue;
                    if (count >= from && slice.owns(start, g)) {
                        if (n == found.length) found = Arrays.copyOf(found, 2 * n);
                        found[n++] = count;
                    }
                    count++;
                }
                return Arrays.copyOf(found, n);
            }
        };
    }

    @Override
    public long bytesRead() {
        long sum = 0;
        for (WindowStream s : streams) sum += s.bytesRead();
        return sum;
    }

    @Override
    public long bytesTrained() {
        long sum = 0;
        for (WindowStream s : streams) sum += s.bytesTrained();
        return sum;
    }

    @Override
    public String position() {
        long windows = slice.consumedAtStepBoundary(start, read);
        List<MixturePosition.Component> saved = new ArrayList<>();
        for (int i = 0; i < components.size(); i++) {
            saved.add(new MixturePosition.Component(components.get(i).name(), fingerprints.get(i), weights[i], boundaryCounts[i]));
        }
        return new MixturePosition(WindowPosition.VERSION, MixturePosition.KIND, split, seqLen, seed, windows, saved).toJson();
    }

    /**
     * Per dataset (by name): target weight (normalised), windows drawn by the whole world, their realised
     * fraction, and the epochs they make of that dataset (the LLaMA paper's Table 1 columns), as of the last step
     * boundary this rank reached.
     */
    @Override
    public Map<String, Map<String, Object>> report() {
        Map<String, Map<String, Object>> r = new LinkedHashMap<>();
        for (int i = 0; i < components.size(); i++) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("weight", weights[i]);
            e.put("windows", boundaryCounts[i]);
            e.put("realised", boundaryDraws == 0 ? 0.0 : (double) boundaryCounts[i] / boundaryDraws);
            e.put("epochs", (double) boundaryCounts[i] / windowsPerEpoch[i]);
            r.put(components.get(i).name(), e);
        }
        return r;
    }

    @Override
    public void close() {
        for (WindowStream s : streams) s.close();
    }
}
