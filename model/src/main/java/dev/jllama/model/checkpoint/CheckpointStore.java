package dev.jllama.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import dev.jllama.model.optim.AdamW;
import java.io.BufferedInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
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
 * {@code tokenizer.model}, and {@code COMPLETE}.
 */
public final class CheckpointStore {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "state.json";
    public static final String TOKENIZER_FILE = "tokenizer.model";
    public static final String COMPLETE_MARKER = "COMPLETE";
    private static final String PREFIX = "step-";

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
        List<Parameters.Param> params = model.parameters().all();
        List<SafeTensors.Entry> weights = new ArrayList<>();
        List<SafeTensors.Entry> moments = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Parameters.Param p = params.get(i);
            weights.add(new SafeTensors.Entry(p.name(), p.shape(), download(backend, p.value())));
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
        Path tmp = new Path(root, "." + name + ".tmp-" + UUID.randomUUID());
        fs.mkdirs(tmp);
        try {
            try (OutputStream out = create(new Path(tmp, MODEL_FILE))) {
                SafeTensors.write(out, weights, Map.of("format", "pt", "step", Integer.toString(state.step())));
            }
            try (OutputStream out = create(new Path(tmp, OPTIMIZER_FILE))) {
                SafeTensors.write(out, moments, Map.of("step", Integer.toString(state.step())));
            }
            try (OutputStream out = create(new Path(tmp, STATE_FILE))) {
                out.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(state.toJson()));
            }
            if (tokenizer != null) {
                try (OutputStream out = create(new Path(tmp, TOKENIZER_FILE))) {
                    out.write(tokenizer);
                }
            }
            try (OutputStream out = create(new Path(tmp, COMPLETE_MARKER))) {
                out.write(("step " + state.step() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            if (fs.exists(finalDir)) fs.delete(finalDir, true);
            if (!fs.rename(tmp, finalDir)) throw new IOException("could not rename " + tmp + " to " + finalDir);
        } catch (IOException | RuntimeException e) {
            fs.delete(tmp, true);
            throw e;
        }
        prune(keep);
        return finalDir.toString();
    }

    private FSDataOutputStream create(Path path) throws IOException {
        return fs.create(path, true);
    }

    private static float[] download(Backend backend, Tensor t) {
        float[] host = new float[t.size()];
        backend.read(t, 0, host, 0, host.length);
        return host;
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> list() throws IOException {
        List<Path> found = new ArrayList<>();
        FileStatus[] entries;
        try {
            entries = fs.listStatus(root);
        } catch (FileNotFoundException e) {
            return found;
        }
        for (FileStatus status : entries) {
            String name = status.getPath().getName();
            if (status.isDirectory() && name.startsWith(PREFIX) && fs.exists(new Path(status.getPath(), COMPLETE_MARKER))) {
                found.add(status.getPath());
            }
        }
        found.sort((a, b) -> a.getName().compareTo(b.getName()));
        return found;
    }

    public Optional<Path> latest() throws IOException {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    private void prune(int keep) throws IOException {
        if (keep <= 0) return;
        List<Path> all = list();
        for (int i = 0; i < all.size() - keep; i++) fs.delete(all.get(i), true);
    }

    /** A checkpoint directory on its file system. */
    private record Location(FileSystem fs, Path dir) {
        static Location of(String dir, Configuration conf) throws IOException {
            URI uri = toUri(dir);
            return new Location(FileSystem.get(uri, conf), new Path(uri));
        }

        Path file(String name) {
            return new Path(dir, name);
        }

        Map<String, SafeTensors.Entry> tensors(Path file) throws IOException {
            try (InputStream in = new BufferedInputStream(fs.open(file), 1 << 20)) {
                return SafeTensors.read(in, file.toString());
            }
        }
    }

    /**
     * The checkpoint that {@code location} names: itself when it is a complete checkpoint directory, otherwise the
     * newest complete checkpoint under it (a checkpoint root of {@code step-NNNNNNNN/} folders) or under its
     * {@code checkpoints/} (a run directory, as {@code train --out} makes).
     */
    public static String resolve(String location, Configuration conf) throws IOException {
        Location at = Location.of(location, conf);
        if (!at.fs().exists(at.dir())) throw new FileNotFoundException("checkpoint " + location + " does not exist");
        if (at.fs().exists(at.file(COMPLETE_MARKER))) return at.fs().makeQualified(at.dir()).toString();
        for (Path root : List.of(at.file("checkpoints"), at.dir())) {
            Optional<Path> latest = new CheckpointStore(root.toString(), conf).latest();
            if (latest.isPresent()) return latest.get().toString();
        }
        throw new IOException(location + " holds no complete checkpoint: it has no " + COMPLETE_MARKER
                + " marker and no complete step-NNNNNNNN/ under it or under its checkpoints/");
    }

    /** The weights of a checkpoint directory in host memory, by their Meta names. */
    public static Map<String, SafeTensors.Entry> readWeights(String dir, Configuration conf) throws IOException {
        Location at = Location.of(dir, conf);
        return at.tensors(at.file(MODEL_FILE));
    }

    /** Reads the state of a checkpoint directory (any Hadoop URI), checking that it is complete. */
    public static TrainingState readState(String dir, Configuration conf) throws IOException {
        Location at = Location.of(dir, conf);
        if (!at.fs().exists(at.file(COMPLETE_MARKER))) {
            throw new IOException(at.dir() + " is not a complete checkpoint (no " + COMPLETE_MARKER + " marker)");
        }
        Path state = at.file(STATE_FILE);
        try (InputStream in = at.fs().open(state)) {
            return TrainingState.fromJson(new ObjectMapper().readTree(in), state.toString());
        }
    }

    /** Loads weights, and moments when {@code optimizer} is given, from a checkpoint directory into the backend. */
    public static void load(String dir, Configuration conf, LlamaModel model, AdamW optimizer) throws IOException {
        loadWeights(dir, conf, model);
        if (optimizer != null) optimizer.upload(readMoments(dir, conf, model.parameters()));
    }

    /** Loads the weights of a checkpoint directory into the model's backend. */
    public static void loadWeights(String dir, Configuration conf, LlamaModel model) throws IOException {
        Location at = Location.of(dir, conf);
        Path modelFile = at.file(MODEL_FILE);
        Map<String, SafeTensors.Entry> weights = at.tensors(modelFile);
        for (Parameters.Param p : model.parameters().all()) {
            model.backend().write(p.value(), 0, tensor(weights, p.name(), p.size(), modelFile), 0, p.size());
        }
    }

    /** The AdamW moments of a checkpoint directory, in host memory, in {@code params}' order. */
    public static OptimizerState readMoments(String dir, Configuration conf, Parameters params) throws IOException {
        Location at = Location.of(dir, conf);
        Path optimizerFile = at.file(OPTIMIZER_FILE);
        Map<String, SafeTensors.Entry> moments = at.tensors(optimizerFile);
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
        Location at = Location.of(dir, conf);
        Path file = at.file(TOKENIZER_FILE);
        if (!at.fs().exists(file)) return Optional.empty();
        try (InputStream in = at.fs().open(file)) {
            return Optional.of(in.readAllBytes());
        }
    }
}
