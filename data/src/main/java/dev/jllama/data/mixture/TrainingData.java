package dev.jllama.data.mixture;

import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.EvalWindows;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;

/**
 * What {@code --data} names: one dataset, or a weighted mixture of datasets that share one tokenizer. The spec is
 * <ul>
 *   <li>a dataset directory (any Hadoop URI or local path),</li>
 *   <li>{@code NAME=DIR:WEIGHT,NAME=DIR:WEIGHT,...} (the weight is the text after the last ':', so DIR may be
 *       hdfs://nn:8020/x; weights are positive and normalised), or</li>
 *   <li>{@code @FILE}, a JSON mixture file {@code {"datasets":[{"name":..,"path":..,"weight":..}]}} whose relative
 *       paths are relative to the file's directory.</li>
 * </ul>
 * Wherever a directory is named, {@code DIR#SOURCE} reads only the shards of one source of a dataset prepared with
 * per-source shards (in the file form, a {@code "source"} field), so that a mixture weights the sources of one
 * dataset as the LLaMA paper's Table 1 does. A directory whose text before its first '=' is a plain name (letters,
 * digits, '_', '-', '.') reads as the list form; write such a directory as ./DIR.
 */
public final class TrainingData {
    private final List<MixtureComponent> components;
    private final List<Dataset> datasets;
    private final boolean mixture;

    private TrainingData(List<MixtureComponent> components, List<Dataset> datasets, boolean mixture) {
        this.components = List.copyOf(components);
        this.datasets = List.copyOf(datasets);
        this.mixture = mixture;
    }

    /**
     * Opens every dataset named by {@code spec} and checks that they share one tokenizer (same vocabulary size and
     * tokenizer checksum in their manifests).
     *
     * @throws IllegalArgumentException if the spec is malformed (the message names the part or field and value)
     */
    public static TrainingData open(String spec, Configuration conf) throws IOException {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("no data given: expected a dataset directory, NAME=DIR:WEIGHT,... or @FILE");
        }
        if (spec.startsWith("@")) return openMixture(DataSpec.readFile(spec.substring(1), conf), conf);
        if (DataSpec.isList(spec)) return openMixture(DataSpec.parseList(spec), conf);
        int hash = spec.lastIndexOf(MixtureComponent.SOURCE_SEPARATOR);
        String source = hash < 0 ? null : spec.substring(hash + 1);
        if (source != null && source.isEmpty()) throw new IllegalArgumentException("data '" + spec + "' has an empty SOURCE after '#'");
        Dataset d = open(hash < 0 ? spec : spec.substring(0, hash), source, conf);
        String name = source != null && MixtureComponent.NAME.matcher(source).matches() ? source
                : d.dir().getName().isEmpty() ? "data" : d.dir().getName();
        return new TrainingData(List.of(new MixtureComponent(name, d.dir().toString(), source, 1.0)), List.of(d), false);
    }

    /** The dataset at {@code dir}, or only its shards of {@code source} (non-null). */
    private static Dataset open(String dir, String source, Configuration conf) throws IOException {
        Dataset d = Dataset.open(dir, conf);
        return source == null ? d : d.source(source);
    }

    private static TrainingData openMixture(List<MixtureComponent> components, Configuration conf) throws IOException {
        List<Dataset> datasets = new ArrayList<>();
        for (MixtureComponent c : components) {
            Dataset d = open(c.dir(), c.source(), conf);
            if (!datasets.isEmpty()) checkSameTokenizer(datasets.getFirst(), components.getFirst(), d, c);
            datasets.add(d);
        }
        return new TrainingData(components, datasets, true);
    }

    private static void checkSameTokenizer(Dataset first, MixtureComponent firstComponent, Dataset d, MixtureComponent c)
            throws IOException {
        String crc = d.manifest().tokenizer().crc32c();
        String firstCrc = first.manifest().tokenizer().crc32c();
        if (d.vocabSize() != first.vocabSize() || !crc.equalsIgnoreCase(firstCrc)) {
            throw new IOException("dataset " + d.dir() + " (mixture component '" + c.name() + "') uses another tokenizer than "
                    + first.dir() + " (component '" + firstComponent.name() + "'): vocab_size " + d.vocabSize() + " vs "
                    + first.vocabSize() + ", tokenizer CRC32C " + crc + " vs " + firstCrc
                    + "; the token ids of a mixture must mean the same thing in every dataset");
        }
    }

    public int vocabSize() {
        return datasets.getFirst().vocabSize();
    }

    /** The tokenizer every dataset was made with (read from the first one). */
    public Tokenizer tokenizer() throws IOException {
        return datasets.getFirst().tokenizer();
    }

    /** The tokenizer.model bytes as stored, for checkpoints. */
    public byte[] tokenizerBytes() throws IOException {
        return datasets.getFirst().tokenizerBytes();
    }

    /** Tokens in {@code split} over all datasets. */
    public long tokens(String split) {
        return datasets.stream().mapToLong(d -> d.tokens(split)).sum();
    }

    /** One line for logs: the dataset directory, or {@code name=DIR:weight, ...} with normalised weights. */
    public String describe() {
        if (!mixture) return location(0);
        double[] weights = MixtureWindowSource.normalisedWeights(components);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < components.size(); i++) {
            parts.add(components.get(i).name() + "=" + location(i) + ":" + shortNumber(weights[i]));
        }
        return String.join(", ", parts);
    }

    /**
     * The spec again with every directory a full URI of its file system: what another process, with another
     * working directory (a Spark executor), opens to get the same data.
     */
    public String qualifiedSpec() {
        if (!mixture) return location(0);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < components.size(); i++) {
            parts.add(components.get(i).name() + "=" + location(i) + ":" + components.get(i).weight());
        }
        return String.join(",", parts);
    }

    /** Component i's qualified directory, with {@code #SOURCE} when it reads one source. */
    private String location(int i) {
        String source = components.get(i).source();
        return datasets.get(i).dir() + (source == null ? "" : MixtureComponent.SOURCE_SEPARATOR + source);
    }

    /**
     * The epochs of each dataset that {@code windows} draws of seqLen+1 tokens from {@code split} make at the
     * mixture's weights (expected values: the draws are random), by dataset name in the order given.
     */
    public Map<String, Double> plannedEpochs(String split, int seqLen, long windows) {
        double[] weights = MixtureWindowSource.normalisedWeights(components);
        Map<String, Double> epochs = new LinkedHashMap<>();
        for (int i = 0; i < components.size(); i++) {
            epochs.put(components.get(i).name(), weights[i] * windows / datasets.get(i).windowsPerEpoch(split, seqLen));
        }
        return epochs;
    }

    /** The datasets with their weights as given; a single dataset is one component of weight 1. */
    public List<MixtureComponent> components() {
        return components;
    }

    /**
     * The windows of {@code split} that rank {@code slice.rank()} reads, continuing from {@code position} (null =
     * the start) whatever the slice it was saved with. A single dataset reads its global stream with
     * {@code seed}; a mixture draws from its datasets as {@link MixtureWindowSource} describes.
     */
    public WindowSource windows(String split, int seqLen, long seed, RankSlice slice, String position) throws IOException {
        Objects.requireNonNull(slice, "slice");
        if (!mixture) return datasets.getFirst().windows(split, seqLen, seed, slice, position);
        return MixtureWindowSource.open(components, datasets, split, seqLen, seed, slice, position);
    }

    /**
     * The evaluation windows of {@code split}: each dataset's {@link EvalWindows}, in the order the datasets were
     * given, at most {@code maxWindowsPerDataset} from each (0: all). No seed: the same windows for every run.
     */
    public List<int[]> evalWindows(String split, int seqLen, long maxWindowsPerDataset) throws IOException {
        List<int[]> windows = new ArrayList<>();
        for (Dataset d : datasets) windows.addAll(EvalWindows.read(d, split, seqLen, maxWindowsPerDataset));
        return windows;
    }

    private static String shortNumber(double v) {
        return new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
    }
}
