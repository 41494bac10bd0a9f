package dev.jllama.cli;

import dev.jllama.driver.TrainDriver;
import dev.jllama.rank.RankResult;
import java.util.LinkedHashMap;
import java.util.Map;

/** The result of a run through the training driver, as {@code train --json} and {@code finetune --json} print it. */
final class RunResult {
    private RunResult() {}

    /**
     * Rank 0's figures and every rank's host, GPUs, all-reduce wait and training-data bytes read and trained on (with
     * their ratio over all ranks, read-ahead included); {@code config}: the run's config.json.
     */
    static Map<String, Object> of(TrainDriver.Outcome outcome, int steps, int zero, String config) {
        RankResult first = outcome.ranks().get(0);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("final_loss", first.finalLoss());
        result.put("val_loss", first.valLoss());
        result.put("val_ppl", first.valPerplexity());
        result.put("val_bpb", first.valBitsPerByte());
        result.put("steps", steps);
        result.put("start_step", first.startStep());
        result.put("tokens_per_s", first.tokensPerS());
        result.put("mfu", first.mfu());
        result.put("peak_flops", first.peakFlops());
        result.put("tokens_per_step", outcome.plan().trainOptions().tokensPerStep() * outcome.ranks().size());
        result.put("ranks", outcome.ranks().size());
        result.put("master", outcome.master());
        result.put("zero", zero);
        result.put("parameters", first.parameters());
        result.put("activation_bytes", first.activationBytes());
        result.put("moment_bytes_per_rank", first.momentBytes());
        result.put("backend", first.backend());
        result.put("comm_wait_s", outcome.ranks().stream().map(RankResult::commWaitSeconds).toList());
        result.put("bytes_read", outcome.ranks().stream().map(RankResult::bytesRead).toList());
        result.put("bytes_trained", outcome.ranks().stream().map(RankResult::bytesTrained).toList());
        long read = outcome.ranks().stream().mapToLong(RankResult::bytesRead).sum();
        long trained = outcome.ranks().stream().mapToLong(RankResult::bytesTrained).sum();
        result.put("read_amplification", trained == 0 ? null : (double) read / trained);
        result.put("hosts", outcome.ranks().stream().map(RankResult::host).toList());
        result.put("gpus", outcome.ranks().stream().map(RankResult::gpus).toList());
        if (!first.data().isEmpty()) result.put("data", first.data());
        result.put("checkpoint", first.checkpoint());
        result.put("config", config);
        return result;
    }
}
