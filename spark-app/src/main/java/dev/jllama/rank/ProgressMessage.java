package dev.jllama.rank;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What rank 0 tells the driver, one JSON object per line of the {@link ProgressChannel}: a line of text (the model
 * and data summary, resumption, validation), or a step with its metrics and the steps of the run, so that the
 * driver chooses how to show it.
 */
public sealed interface ProgressMessage {
    ObjectMapper MAPPER = new ObjectMapper();

    /** A line to show as it is. */
    record Text(String text) implements ProgressMessage {}

    /**
     * A completed step.
     *
     * @param steps      the run's last step
     * @param etaSeconds estimated seconds to the last step (NaN while unknown)
     */
    record Step(StepMetrics metrics, int steps, double etaSeconds) implements ProgressMessage {
        public String plainLine() {
            return metrics.plainLine(steps, etaSeconds);
        }
    }

    /** The message as one line of JSON. */
    default String encode() {
        ObjectNode node = MAPPER.createObjectNode();
        switch (this) {
            case Text t -> {
                node.put("kind", "text");
                node.put("text", t.text());
            }
            case Step s -> {
                node.put("kind", "step");
                node.put("steps", s.steps());
                if (Double.isFinite(s.etaSeconds())) node.put("eta_s", s.etaSeconds());
                node.set("metrics", s.metrics().toJson());
            }
        }
        return node.toString();
    }

    /** Reads a line written by {@link #encode()}; a malformed one fails naming what is wrong. */
    static ProgressMessage decode(String line) {
        String source = "progress message";
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) throw new IllegalArgumentException(source + " is not a JSON object: " + line);
        String kind = StepMetrics.Fields.text(node, "kind", source);
        return switch (kind) {
            case "text" -> new Text(StepMetrics.Fields.text(node, "text", source));
            case "step" -> new Step(StepMetrics.fromJson(StepMetrics.Fields.required(node, "metrics", source), source),
                    StepMetrics.Fields.integer(node, "steps", source),
                    node.has("eta_s") ? StepMetrics.Fields.number(node, "eta_s", source) : Double.NaN);
            default -> throw new IllegalArgumentException(source + ": field 'kind' is '" + kind
                    + "', expected 'text' or 'step'");
        };
    }
}
