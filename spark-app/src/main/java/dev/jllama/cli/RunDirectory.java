package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.checkpoint.CheckpointStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A training run's directory ({@code train --out}, any Hadoop FileSystem): its checkpoints, and {@code config.json},
 * the fully resolved configuration the run was started or last resumed with.
 */
final class RunDirectory {
    static final String CONFIG_FILE = "config.json";
    static final String CONFIG_FORMAT = "jllama-run-config";
    static final int CONFIG_VERSION = 1;
    /** What a run writes besides its checkpoints; {@code --overwrite} removes these too. */
    private static final List<String> RUN_FILES = List.of(CONFIG_FILE, "metrics.jsonl", "loss.png", "tensorboard");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final FileSystem fs;
    private final Configuration conf;

    RunDirectory(String location, Configuration conf) throws IOException {
        // From the string: Hadoop drops the "/" that ends an existing local directory's URI.
        Path path = new Path(CheckpointStore.toUri(location).toString());
        this.fs = path.getFileSystem(conf);
        this.dir = fs.makeQualified(path);
        this.conf = conf;
    }

    String checkpointRoot() {
        return new Path(dir, "checkpoints").toString();
    }

    String configFile() {
        return new Path(dir, CONFIG_FILE).toString();
    }

    /** The newest checkpoint's name (complete or not), if the run has any. */
    Optional<String> newestCheckpoint() throws IOException {
        if (!fs.exists(new Path(checkpointRoot()))) return Optional.empty();
        List<Path> all = new CheckpointStore(checkpointRoot(), conf).list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1).getName());
    }

    /** The recorded configuration, if this run has one. */
    Optional<JsonNode> recordedConfig() throws IOException {
        Path file = new Path(dir, CONFIG_FILE);
        if (!fs.exists(file)) return Optional.empty();
        try (InputStream in = fs.open(file)) {
            JsonNode node = JSON.readTree(in);
            if (node == null || !CONFIG_FORMAT.equals(node.path("format").asText()) || !node.path("options").isObject()) {
                throw new IOException(file + " is not a jllama run configuration (format " + CONFIG_FORMAT + ")");
            }
            return Optional.of(node);
        }
    }

    /** Writes {@code config.json} beside the checkpoints, replacing the one before (written aside, then renamed). */
    void writeConfig(ObjectNode config) throws IOException {
        fs.mkdirs(dir);
        Path file = new Path(dir, CONFIG_FILE), partial = new Path(dir, "." + CONFIG_FILE + ".partial");
        try (OutputStream out = fs.create(partial, true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config).getBytes(StandardCharsets.UTF_8));
        }
        fs.delete(file, false);
        if (!fs.rename(partial, file)) throw new IOException("could not rename " + partial + " to " + file);
    }

    /** Removes the checkpoints and what the run wrote beside them, for {@code --overwrite}. */
    void clear() throws IOException {
        fs.delete(new Path(checkpointRoot()), true);
        for (String name : RUN_FILES) fs.delete(new Path(dir, name), true);
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
