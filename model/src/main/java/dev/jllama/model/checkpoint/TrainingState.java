package dev.jllama.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jllama.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything besides tensors that a resumed run needs to continue exactly: the model shape, the step reached, the
 * seed (all randomness of a run derives from it and the step), the training options, and each rank's position
 * in its data.
 *
 * @param dataPositions one opaque reader position per rank, in rank order
 * @param options       the training options as JSON, so a resumed run can check it continues the same run
 */
public record TrainingState(LlamaConfig config, int step, long seed, long tokensSeen, double loss,
                            List<String> dataPositions, JsonNode options) {

    public static final String FORMAT = "jllama-checkpoint";
    /** Version 2 added the files' checksums ({@link CheckpointStore#FILES_FIELD}); version 1 is still read. */
    public static final int VERSION = 2;

    public ObjectNode toJson() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode node = mapper.createObjectNode();
        node.put("format", FORMAT);
        node.put("version", VERSION);
        node.put("step", step);
        node.put("seed", seed);
        node.put("tokens_seen", tokensSeen);
        node.put("loss", loss);
        node.set("config", config.toJson());
        var positions = node.putArray("data_positions");
        for (String p : dataPositions) {
            if (p == null) positions.addNull();
            else positions.add(p);
        }
        node.set("options", options == null ? mapper.createObjectNode() : options);
        return node;
    }

    public static TrainingState fromJson(JsonNode node, String source) {
        if (!FORMAT.equals(node.path("format").asText())) {
            throw new IllegalArgumentException(source + ": field 'format' is '" + node.path("format").asText()
                    + "', expected '" + FORMAT + "'");
        }
        int version = node.path("version").asInt(-1);
        if (version != 1 && version != VERSION) {
            throw new IllegalArgumentException(source + ": unsupported checkpoint version " + version
                    + " (this build reads versions 1 to " + VERSION + ")");
        }
        for (String field : List.of("step", "seed", "config", "data_positions")) {
            if (!node.has(field)) throw new IllegalArgumentException(source + ": missing field '" + field + "'");
        }
        List<String> positions = new ArrayList<>();
        for (JsonNode p : node.get("data_positions")) positions.add(p.isNull() ? null : p.asText());
        LlamaConfig config;
        try {
            config = LlamaConfig.fromJson(node.get("config"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": field 'config': " + e.getMessage(), e);
        }
        return new TrainingState(config, node.get("step").asInt(), node.get("seed").asLong(),
                node.path("tokens_seen").asLong(0), node.path("loss").asDouble(Double.NaN), positions,
                node.path("options"));
    }
}
