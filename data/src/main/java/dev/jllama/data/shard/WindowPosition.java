package dev.jllama.data.shard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;

/**
 * A reader's place: epoch, ordinal of the shard in that epoch's order, index of the next window in this rank's
 * slice of it, plus the parameters it is valid for, so that resuming with other ones fails loudly.
 *
 * @param dataset fingerprint of the split's shard checksums
 * @param served  windows handed out since the start (informational)
 */
public record WindowPosition(
        int version, String dataset, String split, int seqLen, int rank, int worldSize, long seed,
        long epoch, int shard, int window, long served) {

    public static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

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
        if (p.version != VERSION) throw new IOException("reader position has version " + p.version + ", expected " + VERSION);
        return p;
    }

    /** Throws unless this position was made by a reader with the same parameters. */
    public void checkMatches(String dataset, String split, int seqLen, int rank, int worldSize, long seed) throws IOException {
        check("dataset", this.dataset, dataset);
        check("split", this.split, split);
        check("seq_len", this.seqLen, seqLen);
        check("rank", this.rank, rank);
        check("world_size", this.worldSize, worldSize);
        check("seed", this.seed, seed);
    }

    private static void check(String field, Object saved, Object now) throws IOException {
        if (!saved.equals(now)) {
            throw new IOException("reader position was saved with " + field + "=" + saved + " but is resumed with "
                    + field + "=" + now);
        }
    }
}
