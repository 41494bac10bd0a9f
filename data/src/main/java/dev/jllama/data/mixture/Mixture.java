package dev.jllama.data.mixture;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.SplitMix64;
import dev.jllama.data.shard.WindowSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Windows drawn from several datasets by weight. Draw number k of rank r picks its dataset with a generator seeded
 * by (seed, r, k) alone, so the choice sequence is reproducible and a resumed mixture needs only k and each
 * dataset's own reader position. Each dataset is an endless {@link WindowSource} (it wraps into new epochs), as
 * in the LLaMA recipe where small high-quality sets are seen more than once.
 */
public final class Mixture implements WindowSource {
    private static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private final List<MixtureComponent> components;
    private final List<WindowSource> sources;
    private final double[] cumulative;
    private final int seqLen;
    private final int rank;
    private final long seed;
    private final long[] counts;
    private long drawn;

    /** Saved state: draws so far, per-dataset counts and reader positions (by component name). */
    record Position(int version, long seed, int rank, long drawn, Map<String, Long> counts, Map<String, String> sources) {}

    private Mixture(List<MixtureComponent> components, List<WindowSource> sources, int seqLen, int rank, long seed) {
        this.components = List.copyOf(components);
        this.sources = sources;
        this.seqLen = seqLen;
        this.rank = rank;
        this.seed = seed;
        this.counts = new long[components.size()];
        this.cumulative = new double[components.size()];
        double total = components.stream().mapToDouble(MixtureComponent::weight).sum();
        double acc = 0;
        for (int i = 0; i < components.size(); i++) {
            acc += components.get(i).weight() / total;
            cumulative[i] = acc;
        }
        cumulative[cumulative.length - 1] = 1.0;
    }

    /**
     * Opens every component's split for this rank. All datasets must share one tokenizer (same vocabulary size and
     * tokenizer checksum), or their token ids would mean different things.
     */
    public static Mixture open(List<MixtureComponent> components, Configuration conf, String split, int seqLen,
                               int rank, int worldSize, long seed, String position) throws IOException {
        if (components.isEmpty()) throw new IllegalArgumentException("a mixture needs at least one dataset");
        var names = new HashSet<String>();
        for (MixtureComponent c : components) {
            if (!names.add(c.name())) throw new IllegalArgumentException("mixture component name '" + c.name() + "' repeats");
        }
        Position saved = null;
        if (position != null) {
            try {
                saved = JSON.readValue(position, Position.class);
            } catch (IOException e) {
                throw new IOException("mixture position is not valid JSON: " + position, e);
            }
            if (saved.version() != 1 || saved.seed() != seed || saved.rank() != rank) {
                throw new IOException("mixture position (version " + saved.version() + ", seed " + saved.seed() + ", rank "
                        + saved.rank() + ") does not fit this reader (seed " + seed + ", rank " + rank + ")");
            }
            if (!saved.sources().keySet().equals(new java.util.LinkedHashSet<>(components.stream().map(MixtureComponent::name).toList()))) {
                throw new IOException("mixture position names datasets " + saved.sources().keySet() + " but the mixture has "
                        + components.stream().map(MixtureComponent::name).toList());
            }
        }
        List<WindowSource> sources = new ArrayList<>();
        Dataset first = null;
        try {
            for (int i = 0; i < components.size(); i++) {
                MixtureComponent c = components.get(i);
                Dataset d = Dataset.open(c.dir(), conf);
                if (first == null) {
                    first = d;
                } else if (d.vocabSize() != first.vocabSize()
                        || !d.manifest().tokenizer().crc32c().equals(first.manifest().tokenizer().crc32c())) {
                    throw new IOException("dataset " + d.dir() + " (component '" + c.name() + "') uses another tokenizer than "
                            + first.dir() + " (vocab " + d.vocabSize() + " vs " + first.vocabSize() + ")");
                }
                // Each dataset gets its own shuffle seed so that equal datasets do not move in lockstep.
                long s = SplitMix64.seed(seed, i);
                sources.add(d.windows(split, seqLen, rank, worldSize, s, saved == null ? null : saved.sources().get(c.name())));
            }
        } catch (IOException | RuntimeException e) {
            for (WindowSource w : sources) w.close();
            throw e;
        }
        Mixture m = new Mixture(components, sources, seqLen, rank, seed);
        if (saved != null) {
            m.drawn = saved.drawn();
            for (int i = 0; i < components.size(); i++) m.counts[i] = saved.counts().getOrDefault(components.get(i).name(), 0L);
        }
        return m;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    /** The dataset that draw {@code k} of this rank uses: a pure function of (seed, rank, k). */
    public int choose(long k) {
        double u = new SplitMix64(SplitMix64.seed(seed, rank, k)).nextDouble();
        for (int i = 0; i < cumulative.length; i++) {
            if (u < cumulative[i]) return i;
        }
        return cumulative.length - 1;
    }

    @Override
    public void next(int[] dst, int count) throws IOException {
        int len = seqLen + 1;
        if (count < 0 || dst.length < (long) count * len) {
            throw new IllegalArgumentException("dst holds " + dst.length + " ints, " + count + " windows need " + (long) count * len);
        }
        int[] one = new int[len];
        for (int i = 0; i < count; i++) {
            int c = choose(drawn);
            sources.get(c).next(one, 1);
            System.arraycopy(one, 0, dst, i * len, len);
            counts[c]++;
            drawn++;
        }
    }

    @Override
    public String position() {
        Map<String, Long> c = new LinkedHashMap<>();
        Map<String, String> p = new LinkedHashMap<>();
        for (int i = 0; i < components.size(); i++) {
            c.put(components.get(i).name(), counts[i]);
            p.put(components.get(i).name(), sources.get(i).position());
        }
        try {
            return JSON.writeValueAsString(new Position(1, seed, rank, drawn, c, p));
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise mixture position", e);
        }
    }

    /** Per dataset: target weight, windows drawn, realised fraction of all draws (since the very first draw). */
    public Map<String, Map<String, Object>> report() {
        Map<String, Map<String, Object>> r = new LinkedHashMap<>();
        double prev = 0;
        for (int i = 0; i < components.size(); i++) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("weight", cumulative[i] - prev);
            e.put("windows", counts[i]);
            e.put("realised", drawn == 0 ? 0.0 : (double) counts[i] / drawn);
            prev = cumulative[i];
            r.put(components.get(i).name(), e);
        }
        return r;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (WindowSource s : sources) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
