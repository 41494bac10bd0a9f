package dev.jllama.data.shard;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.util.Objects;

/**
 * Where a dataset's global window stream stands: {@code windows} windows consumed by the whole world, plus the
 * parameters the stream is a function of, so that resuming with other ones fails loudly. The same on every rank
 * and independent of rank and world size, so a run may resume with another number of ranks.
 *
 * @param kind    "dataset" ({@link #KIND}); mixtures write positions of kind "mixture"
 * @param dataset fingerprint of the split's shards ({@link Dataset#fingerprint})
 */
public record WindowPosition(int version, String kind, String dataset, String split, int seqLen, long seed, long windows) {

    /** Version 1 positions were per rank (rank, world_size, epoch, shard, window); they cannot be resumed. */
    public static final int VERSION = 2;
    public static final String KIND = "dataset";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public static WindowPosition of(String dataset, String split, int seqLen, long seed, long windows) {
        return new WindowPosition(VERSION, KIND, dataset, split, seqLen, seed, windows);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise position", e);
        }
    }

    public static WindowPosition parse(String json) throws IOException {
        WindowPosition p;
        try {
            p = JSON.readValue(json, WindowPosition.class);
        } catch (IOException e) {
            throw new IOException("reader position is not valid JSON (" + e.getMessage() + "): " + json, e);
        }
        checkVersionAndKind(p.version, p.kind, KIND, json);
        if (p.windows < 0) throw new IOException("reader position has negative field 'windows' " + p.windows + ": " + json);
        return p;
    }

    /** Throws unless this position was made by a reader of the same dataset split, seq_len and seed. */
    public void checkMatches(String dataset, String split, int seqLen, long seed) throws IOException {
        checkField("dataset", this.dataset, dataset);
        checkField("split", this.split, split);
        checkField("seq_len", this.seqLen, seqLen);
        checkField("seed", this.seed, seed);
    }

    /** Throws unless a saved position has this format version and the reader's kind ("dataset" or "mixture"). */
    public static void checkVersionAndKind(int version, String kind, String expectedKind, String json) throws IOException {
        if (version != VERSION) {
            throw new IOException("reader position has version " + version + ", this reader reads version " + VERSION
                    + (version == 1 ? " (version 1 positions were per rank and cannot be resumed)" : "") + ": " + json);
        }
        if (!expectedKind.equals(kind)) {
            throw new IOException("reader position is of kind '" + kind + "' but the data is of kind '" + expectedKind
                    + "' (a mixture's position cannot resume a single dataset, nor the other way round): " + json);
        }
    }

    /** Throws, naming the field and both values, unless the saved value equals the current one. */
    public static void checkField(String field, Object saved, Object now) throws IOException {
        if (!Objects.equals(saved, now)) {
            throw new IOException("reader position was saved with " + field + "=" + saved + " but is resumed with "
                    + field + "=" + now);
        }
    }
}
