package dev.jllama.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * How to train.
 *
 * @param steps           optimizer steps in total
 * @param seqLen          tokens per sequence
 * @param microBatch      sequences per forward/backward
 * @param accumulation    micro-batches per optimizer step (gradient accumulation)
 * @param peakLr          peak learning rate
 * @param warmupSteps     linear warm-up steps
 * @param minLrRatio      cosine decay floor as a fraction of the peak (LLaMA: 0.1)
 * @param checkpointEvery steps between checkpoints (0: only at the end)
 * @param keepCheckpoints newest checkpoints kept
 * @param seed            initialisation and data-order seed
 */
public record TrainOptions(int steps, int seqLen, int microBatch, int accumulation, double peakLr, int warmupSteps,
                           double minLrRatio, int checkpointEvery, int keepCheckpoints, long seed) {

    public TrainOptions {
        positive("steps", steps);
        positive("seq-len", seqLen);
        positive("micro-batch", microBatch);
        positive("accumulation", accumulation);
        if (!(peakLr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + peakLr);
        if (warmupSteps < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmupSteps);
        if (checkpointEvery < 0) throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        positive("keep", keepCheckpoints);
    }

    private static void positive(String name, int value) {
        if (value <= 0) throw new IllegalArgumentException("--" + name + " must be positive, got " + value);
    }

    /** Tokens per optimizer step on one rank. */
    public long tokensPerStep() {
        return (long) seqLen * microBatch * accumulation;
    }

    public ObjectNode toJson() {
        ObjectNode node = new ObjectMapper().createObjectNode();
        node.put("steps", steps);
        node.put("seq_len", seqLen);
        node.put("micro_batch", microBatch);
        node.put("accumulation", accumulation);
        node.put("peak_lr", peakLr);
        node.put("warmup_steps", warmupSteps);
        node.put("min_lr_ratio", minLrRatio);
        node.put("checkpoint_every", checkpointEvery);
        node.put("keep_checkpoints", keepCheckpoints);
        node.put("seed", seed);
        return node;
    }

    /** The options {@link #toJson()} wrote. */
    public static TrainOptions fromJson(JsonNode node) {
        for (String field : new String[] {"steps", "seq_len", "micro_batch", "accumulation", "peak_lr", "warmup_steps",
                "min_lr_ratio", "checkpoint_every", "keep_checkpoints", "seed"}) {
            if (!node.has(field)) throw new IllegalArgumentException("training options lack field '" + field + "'");
        }
        return new TrainOptions(node.get("steps").asInt(), node.get("seq_len").asInt(), node.get("micro_batch").asInt(),
                node.get("accumulation").asInt(), node.get("peak_lr").asDouble(), node.get("warmup_steps").asInt(),
                node.get("min_lr_ratio").asDouble(), node.get("checkpoint_every").asInt(),
                node.get("keep_checkpoints").asInt(), node.get("seed").asLong());
    }
}
