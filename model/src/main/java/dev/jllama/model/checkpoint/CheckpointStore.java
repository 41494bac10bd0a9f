package dev.jllama.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Lora;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.optim.AdamW;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.ArrayList;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumException;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Checkpoints under {@code <root>/step-NNNNNNNN/} on any Hadoop FileSystem (local paths, file://, hdfs://).
 * A checkpoint is written to a hidden temporary directory, completed with a {@code COMPLETE} marker and then
 * renamed into place, so a reader never sees a partial one; only the newest {@code keep} are kept.
 *
 * <p>Contents: {@code model.safetensors} (weights, Meta names), {@code optimizer.safetensors} (AdamW moments
 * {@code m.<name>}, {@code v.<name>}), {@code state.json} ({@link TrainingState}), optionally
 * {@code tokenizer.model}, and {@code COMPLETE}. {@code state.json} records the length and CRC32C of every other
 * file, and {@code COMPLETE} those of {@code state.json}; every load checks them, on any FileSystem, so a damaged
 * or half-copied checkpoint is never read as good ({@link CorruptCheckpointException}).
 */
public final class CheckpointStore {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "state.json";
    public static final String TOKENIZER_FILE = "tokenizer.model";
    public static final String COMPLETE_MARKER = "COMPLETE";
    /** The field of {@code state.json} that records each other file's length and CRC32C. */
    public static final String FILES_FIELD = "files";
    private static final String PREFIX = "step-";
    private static final String TMP_PREFIX = ".";

    private final FileSystem fs;
    private final Path root;

    public CheckpointStore(String root, Configuration conf) throws IOException {
        URI uri = toUri(root);
        this.fs = FileSystem.get(uri, conf);
        this.root = fs.makeQualified(new Path(uri));
    }

    /** A plain local path becomes an absolute file: URI; anything with a scheme is taken as it is. */
    public static URI toUri(String location) {
        if (location.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !location.matches("^[a-zA-Z]:\\\\.*")) {
            return URI.create(location);
        }
        return java.nio.file.Path.of(location).toAbsolutePath().normalize().toUri();
    }

    public String root() {
        return root.toString();
    }

    /** Writes a complete checkpoint for {@code state.step()} and prunes to the newest {@code keep}. */
    public String save(TrainingState state, LlamaModel model, OptimizerState optimizer, byte[] tokenizer, int keep)
            throws IOException {
        Backend backend = model.backend();
        List<SafeTensors.Entry> weights = new ArrayList<>();
        List<SafeTensors.Entry> moments = new ArrayList<>();
        // The weights, LoRA adapters (NAME.lora_a, NAME.lora_b) after the base weights; moments of what trains.
        List<Parameters.Param> stored = new ArrayList<>(model.parameters().all());
        if (model.lora() != null) stored.addAll(model.lora().parameters().all());
        for (Parameters.Param p : stored) {
            weights.add(new SafeTensors.Entry(p.name(), p.shape(), download(backend, p.value())));
        }
        List<Parameters.Param> trained = model.trainable().all();
        for (int i = 0; i < trained.size(); i++) {
            Parameters.Param p = trained.get(i);
            moments.add(new SafeTensors.Entry("m." + p.name(), p.shape(), optimizer.firstMoments().get(i)));
            moments.add(new SafeTensors.Entry("v." + p.name(), p.shape(), optimizer.secondMoments().get(i)));
        }
        return save(state, weights, moments, tokenizer, keep);
    }

    /**
     * Writes a complete checkpoint from host memory: {@code weights} by name in {@link Parameters#all()} order and
     * their moments as {@code m.<name>}, {@code v.<name>}; prunes to the newest {@code keep}.
     */
    public String save(TrainingState state, List<SafeTensors.Entry> weights, List<SafeTensors.Entry> moments,
                       byte[] tokenizer, int keep) throws IOException {
        String name = String.format("%s%08d", PREFIX, state.step());
        Path finalDir = new Path(root, name);
        Path tmp = new Path(root, TMP_PREFIX + name + ".tmp-" + UUID.randomUUID());
        fs.mkdirs(tmp);
        try {
            Map<String, FileChecksum> files = new LinkedHashMap<>();
            files.put(MODEL_FILE, write(tmp, MODEL_FILE, out -> SafeTensors.write(out, weights,
                    Map.of("format", "pt", "step", Integer.toString(state.step())))));
            files.put(OPTIMIZER_FILE, write(tmp, OPTIMIZER_FILE, out -> SafeTensors.write(out, moments,
                    Map.of("step", Integer.toString(state.step())))));
            if (tokenizer != null) files.put(TOKENIZER_FILE, write(tmp, TOKENIZER_FILE, out -> out.write(tokenizer)));
            ObjectNode json = state.toJson();
            ObjectNode sums = json.putObject(FILES_FIELD);
            files.forEach((file, sum) -> sums.putObject(file).put("bytes", sum.bytes()).put("crc32c", sum.crc32c()));
            byte[] stateBytes = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(json);
            FileChecksum stateSum = write(tmp, STATE_FILE, out -> out.write(stateBytes));
            // The marker, written last, names state.json's checksum, and state.json every other file's.
            write(tmp, COMPLETE_MARKER, out -> out.write(String.format("step %d%n%s %d %s%n", state.step(), STATE_FILE,
                    stateSum.bytes(), stateSum.crc32c()).getBytes(StandardCharsets.UTF_8)));
            if (fs.exists(finalDir)) fs.delete(finalDir, true);
            if (!fs.rename(tmp, finalDir)) throw new IOException("could not rename " + tmp + " to " + finalDir);
        } catch (IOException | RuntimeException e) {
            fs.delete(tmp, true);
            throw e;
        }
        prune(keep, state.step());
        return finalDir.toString();
    }

    private interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private FileChecksum write(Path dir, String name, Body body) throws IOException {
        try (FSDataOutputStream file = fs.create(new Path(dir, name), true);
             FileChecksum.Writing out = new FileChecksum.Writing(new BufferedOutputStream(file, 1 << 20))) {
            body.writeTo(out);
            out.flush();
            return out.checksum();
        }
    }

    private static float[] download(Backend backend, Tensor t) {
        float[] host = new float[t.size()];
        backend.read(t, 0, host, 0, host.length);
        return host;
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> list() throws IOException {
        return stepDirectories(true);
    }

    /**
     * The {@code step-NNNNNNNN} directories with a {@code COMPLETE} marker ({@code complete}), or those without one,
     * which no load ever reads; oldest first.
     */
    private List<Path> stepDirectories(boolean complete) throws IOException {
        List<Path> found = new ArrayList<>();
        FileStatus[] entries;
        try {
            entries = fs.listStatus(root);
        } catch (FileNotFoundException e) {
            return found;
        }
        for (FileStatus status : entries) {
            Path dir = status.getPath();
            if (status.isDirectory() && dir.getName().startsWith(PREFIX)
                    && fs.exists(new Path(dir, COMPLETE_MARKER)) == complete) {
                found.add(dir);
            }
        }
        found.sort((x, y) -> x.getName().compareTo(y.getName()));
        return found;
    }

    public Optional<Path> latest() throws IOException {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * Keeps the newest {@code keep} checkpoints, and removes what writers that died left half-written at or before
     * {@code step} (a retried run reaches the step again only after every earlier attempt is gone).
     */
    private void prune(int keep, int step) throws IOException {
        for (FileStatus status : fs.listStatus(root)) {
            String name = status.getPath().getName();
            if (name.startsWith(TMP_PREFIX + PREFIX) && name.contains(".tmp-")) {
                String stepPart = name.substring((TMP_PREFIX + PREFIX).length(), name.indexOf(".tmp-"));
                if (stepPart.matches("\\d+") && Integer.parseInt(stepPart) <= step) fs.delete(status.getPath(), true);
            }
        }
        if (keep <= 0) return;
        List<Path> all = list();
        for (int i = 0; i < all.size() - keep; i++) fs.delete(all.get(i), true);
    }

    /**
     * Loads the newest checkpoint that {@code load} can read whole, skipping (with a warning naming the checkpoint
     * and the file) any whose files are missing or do not match their recorded checksums.
     *
     * @return what {@code load} returned, or empty when no checkpoint is usable
     */
    public <T> Optional<T> loadNewest(Loader<T> load, Consumer<String> warn) throws IOException {
        List<Path> all = list();
        String newestComplete = all.isEmpty() ? "" : all.get(all.size() - 1).getName();
        for (Path unfinished : stepDirectories(false)) {
            if (unfinished.getName().compareTo(newestComplete) > 0) {
                warn.accept("skipping checkpoint " + unfinished + ": " + COMPLETE_MARKER + ": missing (never finished)");
            }
        }
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                return Optional.of(load.load(all.get(i).toString()));
            } catch (CorruptCheckpointException e) {
                warn.accept("skipping " + e.getMessage() + (i > 0 ? "; trying the previous checkpoint" : ""));
            }
        }
        return Optional.empty();
    }

    /** Reads one checkpoint directory. */
    public interface Loader<T> {
        T load(String dir) throws IOException;
    }

    /**
     * A complete checkpoint directory on its file system, with the checksums its {@code state.json} recorded of its
     * files (none for checkpoints of format version 1, which recorded none).
     */
    private record Location(FileSystem fs, Path dir, JsonNode state, Map<String, FileChecksum> sums) {

        static Location open(String dir, Configuration conf) throws IOException {
            URI uri = toUri(dir);
            FileSystem fs = FileSystem.get(uri, conf);
            Path path = new Path(uri);
            Path marker = new Path(path, COMPLETE_MARKER);
            if (!fs.exists(marker)) {
                throw new IOException(path + " is not a complete checkpoint (no " + COMPLETE_MARKER + " marker)");
            }
            String markerText;
            try (InputStream in = fs.open(marker)) {
                markerText = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            FileChecksum stateSum = null;
            for (String line : markerText.split("\n")) {
                String[] fields = line.strip().split(" ");
                if (fields.length == 3 && fields[0].equals(STATE_FILE)) {
                    stateSum = new FileChecksum(Long.parseLong(fields[1]), fields[2]);
                }
            }
            JsonNode state = parseJson(fs, path, STATE_FILE, stateSum);
            Map<String, FileChecksum> sums = new LinkedHashMap<>();
            state.path(FILES_FIELD).properties().forEach(e -> sums.put(e.getKey(),
                    new FileChecksum(e.getValue().path("bytes").asLong(), e.getValue().path("crc32c").asText())));
            if (state.path("version").asInt() >= 2 && (stateSum == null || sums.isEmpty())) {
                throw new CorruptCheckpointException(path.toString(), stateSum == null ? COMPLETE_MARKER : STATE_FILE,
                        stateSum == null ? "records no checksum of " + STATE_FILE : "no field '" + FILES_FIELD + "'", null);
            }
            return new Location(fs, path, state, sums);
        }

        private static JsonNode parseJson(FileSystem fs, Path dir, String name, FileChecksum expected) throws IOException {
            byte[] bytes = verified(fs, dir, name, expected, in -> in.readAllBytes());
            return new ObjectMapper().readTree(bytes);
        }

        Path file(String name) {
            return new Path(dir, name);
        }

        Map<String, SafeTensors.Entry> tensors(String name) throws IOException {
            FileChecksum expected = sums.get(name);
            if (expected == null && !sums.isEmpty()) {
                throw new CorruptCheckpointException(dir.toString(), name, "not listed in " + STATE_FILE, null);
            }
            return verified(fs, dir, name, expected, in -> SafeTensors.read(in, file(name).toString()));
        }

        byte[] bytes(String name) throws IOException {
            return verified(fs, dir, name, sums.get(name), InputStream::readAllBytes);
        }

        /** Reads a file through {@code reader} and then checks it whole against {@code expected} (when known). */
        private static <T> T verified(FileSystem fs, Path dir, String name, FileChecksum expected, Reader<T> reader)
                throws IOException {
            Path file = new Path(dir, name);
            try (FileChecksum.Reading in = new FileChecksum.Reading(new BufferedInputStream(fs.open(file), 1 << 20))) {
                T value;
                try {
                    value = reader.read(in);
                } catch (ChecksumException e) {
                    throw new CorruptCheckpointException(dir.toString(), name, e.getMessage(), e);
                } catch (IOException | RuntimeException e) {
                    // A file that does not parse is reported as what it is when its checksum says it was damaged.
                    String mismatch = mismatch(in, expected, dir, name);
                    if (mismatch != null) throw new CorruptCheckpointException(dir.toString(), name, mismatch, e);
                    throw e;
                }
                String mismatch = mismatch(in, expected, dir, name);
                if (mismatch != null) throw new CorruptCheckpointException(dir.toString(), name, mismatch, null);
                return value;
            } catch (FileNotFoundException e) {
                throw new CorruptCheckpointException(dir.toString(), name, "missing", e);
            }
        }

        /** What differs from the recorded checksum, or null; Hadoop's own side-file checksums may fail first. */
        private static String mismatch(FileChecksum.Reading in, FileChecksum expected, Path dir, String name)
                throws IOException {
            try {
                return expected == null ? null : in.mismatch(expected);
            } catch (ChecksumException e) {
                throw new CorruptCheckpointException(dir.toString(), name, e.getMessage(), e);
            }
        }

        private interface Reader<T> {
            T read(InputStream in) throws IOException;
        }
    }

    /**
     * The checkpoint that {@code location} names: itself when it is a complete checkpoint directory, otherwise the
     * newest complete checkpoint under it (a checkpoint root of {@code step-NNNNNNNN/} folders) or under its
     * {@code checkpoints/} (a run directory, as {@code train --out} makes).
     */
    public static String resolve(String location, Configuration conf) throws IOException {
        URI uri = toUri(location);
        FileSystem fs = FileSystem.get(uri, conf);
        Path dir = fs.makeQualified(new Path(uri));
        if (!fs.exists(dir)) throw new FileNotFoundException("checkpoint " + location + " does not exist");
        if (fs.exists(new Path(dir, COMPLETE_MARKER))) return dir.toString();
        for (Path root : List.of(new Path(dir, "checkpoints"), dir)) {
            Optional<Path> latest = new CheckpointStore(root.toString(), conf).latest();
            if (latest.isPresent()) return latest.get().toString();
        }
        throw new IOException(location + " holds no complete checkpoint: it has no " + COMPLETE_MARKER
                + " marker and no complete step-NNNNNNNN/ under it or under its checkpoints/");
    }

    /**
     * The weights of a checkpoint directory in host memory, by their Meta names, after checking their checksum; a
     * checkpoint with LoRA adapters gives its weights with the adapters merged in ({@code W + alpha/r · B A}), a plain
     * model.
     */
    public static Map<String, SafeTensors.Entry> readWeights(String dir, Configuration conf) throws IOException {
        Location at = Location.open(dir, conf);
        return merged(at.tensors(MODEL_FILE), readState(dir, conf), at.file(MODEL_FILE).toString());
    }

    /** {@code entries} without adapter tensors, merged into the weights when there are any. */
    private static Map<String, SafeTensors.Entry> merged(Map<String, SafeTensors.Entry> entries, TrainingState state,
                                                         String source) throws IOException {
        boolean adapters = entries.keySet().stream().anyMatch(n -> n.contains(".lora_"));
        if (!adapters) return entries;
        Lora.Spec spec = Lora.Spec.fromJson(state.options() == null ? null : state.options().get("lora"));
        if (spec == null) throw new IOException(source + " holds LoRA adapters but its state.json records no 'lora'");
        Map<String, float[]> weights = new LinkedHashMap<>(), lora = new LinkedHashMap<>();
        Map<String, SafeTensors.Entry> out = new LinkedHashMap<>();
        entries.forEach((name, e) -> {
            if (name.contains(".lora_")) lora.put(name, e.data());
            else {
                float[] copy = e.data().clone();
                weights.put(name, copy);
                out.put(name, new SafeTensors.Entry(name, e.shape(), copy));
            }
        });
        try {
            Lora.merge(spec, state.config().layers(), weights, lora);
        } catch (IllegalArgumentException e) {
            throw new IOException(source + ": " + e.getMessage());
        }
        return out;
    }

    /** Reads the state of a checkpoint directory (any Hadoop URI), checking that it is complete and intact. */
    public static TrainingState readState(String dir, Configuration conf) throws IOException {
        Location at = Location.open(dir, conf);
        return TrainingState.fromJson(at.state(), at.file(STATE_FILE).toString());
    }

    /** Loads weights, and moments when {@code optimizer} is given, from a checkpoint directory into the backend. */
    public static void load(String dir, Configuration conf, LlamaModel model, AdamW optimizer) throws IOException {
        loadWeights(dir, conf, model);
        if (optimizer != null) optimizer.upload(readMoments(dir, conf, model.trainable()));
    }

    /** Loads the weights of a checkpoint directory into the model's backend, after checking their checksum. */
    public static void loadWeights(String dir, Configuration conf, LlamaModel model) throws IOException {
        Location at = Location.open(dir, conf);
        Map<String, SafeTensors.Entry> weights = at.tensors(MODEL_FILE);
        TrainingState state = TrainingState.fromJson(at.state(), at.file(STATE_FILE).toString());
        Lora.Spec saved = Lora.Spec.fromJson(state.options() == null ? null : state.options().get("lora"));
        if (model.lora() != null && model.lora().spec().equals(saved)) {
            // The same adapters as the model's (a resumed LoRA run): the base weights and the adapters as they are.
            for (Parameters.Param p : model.lora().parameters().all()) {
                model.backend().write(p.value(), 0, tensor(weights, p.name(), p.size(), at.file(MODEL_FILE)), 0, p.size());
            }
        } else {
            // Otherwise a model sees the checkpoint as a plain one, adapters merged (a fresh LoRA run keeps its own).
            weights = merged(weights, state, at.file(MODEL_FILE).toString());
        }
        for (Parameters.Param p : model.parameters().all()) {
            model.backend().write(p.value(), 0, tensor(weights, p.name(), p.size(), at.file(MODEL_FILE)), 0, p.size());
        }
    }

    /** The AdamW moments of a checkpoint directory, in host memory, in {@code params}' order. */
    public static OptimizerState readMoments(String dir, Configuration conf, Parameters params) throws IOException {
        Location at = Location.open(dir, conf);
        Map<String, SafeTensors.Entry> moments = at.tensors(OPTIMIZER_FILE);
        Path optimizerFile = at.file(OPTIMIZER_FILE);
        List<float[]> first = new ArrayList<>(), second = new ArrayList<>();
        for (Parameters.Param p : params.all()) {
            first.add(tensor(moments, "m." + p.name(), p.size(), optimizerFile));
            second.add(tensor(moments, "v." + p.name(), p.size(), optimizerFile));
        }
        return new OptimizerState(first, second);
    }

    private static float[] tensor(Map<String, SafeTensors.Entry> entries, String name, int size, Path file)
            throws IOException {
        SafeTensors.Entry entry = entries.get(name);
        if (entry == null) throw new IOException(file + ": missing tensor '" + name + "'");
        if (entry.data().length != size) {
            throw new IOException(file + ": tensor '" + name + "' has " + entry.data().length
                    + " values, the model needs " + size);
        }
        return entry.data();
    }

    /** The tokenizer saved with a checkpoint, if any. */
    public static Optional<byte[]> readTokenizer(String dir, Configuration conf) throws IOException {
        Location at = Location.open(dir, conf);
        boolean present = at.sums().isEmpty() ? at.fs().exists(at.file(TOKENIZER_FILE))
                : at.sums().containsKey(TOKENIZER_FILE);
        return present ? Optional.of(at.bytes(TOKENIZER_FILE)) : Optional.empty();
    }
}
