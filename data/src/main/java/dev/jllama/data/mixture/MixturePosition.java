package dev.jllama.data.mixture;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.jllama.data.shard.WindowPosition;
import java.io.IOException;
import java.util.List;

/**
 * Where a mixture's global draw stream stands: {@code windows} draws made by the whole world. Each component's
 * count follows from the draws, since draw g's component is a function of (seed, g); the counts are written for
 * people reading checkpoints. Same format version as {@link WindowPosition}, kind "mixture".
 *
 * @param components in mixture order, with normalised weights
 */
record MixturePosition(int version, String kind, String split, int seqLen, long seed, long windows,
                       List<Component> components) {

    static final String KIND = "mixture";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * @param dataset fingerprint of the component's split
     * @param windows draws that chose this component
     */
    record Component(String name, String dataset, double weight, long windows) {}

    MixturePosition {
        components = components == null ? null : List.copyOf(components);
    }

    String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise mixture position", e);
        }
    }

    static MixturePosition parse(String json) throws IOException {
        MixturePosition p;
        try {
            p = JSON.readValue(json, MixturePosition.class);
        } catch (IOException e) {
            throw new IOException("reader position is not valid JSON (" + e.getMessage() + "): " + json, e);
        }
        WindowPosition.checkVersionAndKind(p.version, p.kind, KIND, json);
        if (p.windows < 0 || p.components == null) {
            throw new IOException("mixture position needs fields 'windows' >= 0 and 'components': " + json);
        }
        return p;
    }
}
