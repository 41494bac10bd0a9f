package dev.jllama.rank;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One optimizer step as rank 0 saw it: one line of {@code metrics.jsonl} and the payload of a progress message.
 *
 * @param step       1-based step just completed
 * @param tokens     training tokens consumed by the whole world up to and including this step
 * @param loss       mean loss of the step over all ranks
 * @param lr         learning rate of the step
 * @param gradNorm   global gradient norm before clipping
 * @param tokensPerS global training tokens per second of this step
 * @param mfu        model FLOPs utilisation of this step over all ranks ({@link dev.jllama.model.ModelFlops}), or
 *                   null when a backend gives no peak FLOP/s
 * @param computeS   seconds of the step not spent waiting (forward, backward, optimizer)
 * @param commWaitS  seconds rank 0 waited for the all-reduce after its backward pass
 * @param dataWaitS  seconds rank 0 waited for its batches from the data reader
 * @param time       wall-clock time at the end of the step, seconds since the epoch
 * @param data       with a mixture, per dataset (by name) the training windows drawn by the whole world so far:
 *                   {@code weight}, {@code windows}, {@code realised} (their share) and {@code epochs} (the LLaMA
 *                   paper's Table 1 columns, as of this step); empty for one dataset
 */
public record StepMetrics(int step, long tokens, double loss, double lr, double gradNorm, double tokensPerS,
                          Double mfu, double computeS, double commWaitS, double dataWaitS, double time,
                          Map<String, Map<String, Object>> data) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public StepMetrics {
        data = data == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(data));
    }

    /** A step trained on one dataset. */
    public StepMetrics(int step, long tokens, double loss, double lr, double gradNorm, double tokensPerS, Double mfu,
                       double computeS, double commWaitS, double dataWaitS, double time) {
        this(step, tokens, loss, lr, gradNorm, tokensPerS, mfu, computeS, commWaitS, dataWaitS, time, Map.of());
    }

    public ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("step", step);
        node.put("tokens", tokens);
        node.put("loss", loss);
        node.put("lr", lr);
        node.put("grad_norm", gradNorm);
        node.put("tokens_per_s", tokensPerS);
        node.put("mfu", mfu);
        node.put("compute_s", computeS);
        node.put("comm_wait_s", commWaitS);
        node.put("data_wait_s", dataWaitS);
        node.put("time", time);
        if (!data.isEmpty()) node.set("data", MAPPER.valueToTree(data));
        return node;
    }

    /** @param source names the file or stream in errors */
    public static StepMetrics fromJson(JsonNode node, String source) {
        return new StepMetrics(Fields.integer(node, "step", source), Fields.longValue(node, "tokens", source),
                Fields.number(node, "loss", source), Fields.number(node, "lr", source),
                Fields.number(node, "grad_norm", source), Fields.number(node, "tokens_per_s", source),
                Fields.optionalNumber(node, "mfu", source), Fields.number(node, "compute_s", source),
                Fields.number(node, "comm_wait_s", source), Fields.number(node, "data_wait_s", source),
                Fields.number(node, "time", source), data(node, source));
    }

    private static Map<String, Map<String, Object>> data(JsonNode node, String source) {
        JsonNode value = node.get("data");
        if (value == null || value.isNull()) return Map.of();
        if (!value.isObject()) {
            throw new IllegalArgumentException(source + ": field 'data' is " + value + ", not an object");
        }
        return MAPPER.convertValue(value, new TypeReference<LinkedHashMap<String, Map<String, Object>>>() {});
    }

    /** The plain progress line, as the driver prints it without a terminal and rank 0's log records it. */
    public String plainLine(int steps, double etaSeconds) {
        return String.format("step %5d/%d | loss %.4f | lr %.3e | grad norm %.3f | %,.0f tokens/s%s | compute %.3f s, "
                        + "all-reduce wait %.3f s, data wait %.3f s | ETA %s", step, steps, loss, lr, gradNorm,
                tokensPerS, mfuText(" | MFU "), computeS, commWaitS, dataWaitS, clock(etaSeconds));
    }

    /** {@code prefix} and the MFU as a percentage, or nothing when there is no MFU. */
    public String mfuText(String prefix) {
        if (mfu == null) return "";
        return prefix + (mfu >= 0.1 ? String.format("%.1f%%", 100 * mfu) : String.format("%.2f%%", 100 * mfu));
    }

    /** {@code h:mm:ss}, or {@code ?} before there is a step time to go by. */
    static String clock(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        Duration d = Duration.ofSeconds(Math.round(seconds));
        return String.format("%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart());
    }

    /** Typed reads of JSON fields that name the missing or malformed field. */
    static final class Fields {
        private Fields() {}

        static JsonNode required(JsonNode node, String field, String source) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                throw new IllegalArgumentException(source + ": missing field '" + field + "' in " + node);
            }
            return value;
        }

        static double number(JsonNode node, String field, String source) {
            JsonNode value = required(node, field, source);
            if (!value.isNumber()) {
                throw new IllegalArgumentException(source + ": field '" + field + "' is " + value + ", not a number");
            }
            return value.asDouble();
        }

        /** The number, or null when the field is missing or null (lines written before it existed). */
        static Double optionalNumber(JsonNode node, String field, String source) {
            JsonNode value = node.get(field);
            return value == null || value.isNull() ? null : number(node, field, source);
        }

        static long longValue(JsonNode node, String field, String source) {
            JsonNode value = required(node, field, source);
            if (!value.canConvertToLong() || !value.isIntegralNumber()) {
                throw new IllegalArgumentException(source + ": field '" + field + "' is " + value + ", not an integer");
            }
            return value.asLong();
        }

        static int integer(JsonNode node, String field, String source) {
            JsonNode value = required(node, field, source);
            if (!value.canConvertToInt() || !value.isIntegralNumber()) {
                throw new IllegalArgumentException(source + ": field '" + field + "' is " + value + ", not an integer");
            }
            return value.asInt();
        }

        static String text(JsonNode node, String field, String source) {
            JsonNode value = required(node, field, source);
            if (!value.isTextual()) {
                throw new IllegalArgumentException(source + ": field '" + field + "' is " + value + ", not a string");
            }
            return value.asText();
        }
    }
}
